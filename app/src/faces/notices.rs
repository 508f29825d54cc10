//! Public notices (a water cut, a clinic day). On the command screen a commander
//! writes one (title, text, how long it stays up) and it is on the public page at once;
//! the notices in force are listed there with a button to withdraw each, and other
//! staff read them. The public page shows them too (`crate::public`).

use crate::api;
use crate::i18n::{date_time, use_language, Lang, Msg};
use crate::outbox::refusal_message;
use crate::session::use_session;
use leptos::prelude::*;
use linli_domain::api::Notice;
use linli_domain::api::NoticeRequest;
use linli_domain::limits::{NOTICE_BODY_CHARS, NOTICE_TITLE_CHARS};
use linli_domain::Timestamp;

/// How long a new notice may stay up, in hours; 0 is until withdrawn.
const SHOWN_FOR_HOURS: [u32; 5] = [24, 72, 168, 720, 0];
const DEFAULT_HOURS: u32 = 72;

fn shown_for(lang: Lang, hours: u32) -> String {
    match (lang, hours) {
        (Lang::Zh, 0) => "直到撤下".into(),
        (Lang::En, 0) => "until withdrawn".into(),
        (Lang::Zh, h) => format!("{} 天", h / 24),
        (Lang::En, 24) => "1 day".into(),
        (Lang::En, h) => format!("{} days", h / 24),
    }
}

/// When a notice went up, and until when it stays.
pub fn period(lang: Lang, notice: &Notice) -> String {
    let from = date_time(lang, notice.published_at);
    match &notice.until {
        Some(until) => format!("{from} – {}", date_time(lang, *until)),
        None => from,
    }
}

/// The command screen's notices: publish (commanders), read, withdraw (commanders).
#[component]
pub fn NoticeBoard() -> impl IntoView {
    let lang = use_language();
    let is_commander = use_session().is_commander();
    let title = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let hours = RwSignal::new(DEFAULT_HOURS);
    let publish = Action::new_unsync(|notice: &NoticeRequest| {
        let notice = notice.clone();
        async move { api::publish_notice(&notice).await.map(drop) }
    });
    let withdraw = Action::new_unsync(|id: &i64| {
        let id = *id;
        async move { api::withdraw_notice(id).await.map(drop) }
    });
    // Loaded again after each notice published or withdrawn.
    let list = LocalResource::new(move || {
        publish.version().track();
        withdraw.version().track();
        api::notices()
    });
    let notices = move || list.get().and_then(Result::ok).unwrap_or_default();
    Effect::new(move |_| {
        if let Some(Ok(())) = publish.value().get() {
            title.set(String::new());
            body.set(String::new());
        }
    });
    // The last thing that went wrong, while nothing newer went right.
    let error = move || {
        let failed = |answer: Option<Result<(), api::ApiError>>| answer.and_then(Result::err);
        failed(publish.value().get())
            .or_else(|| failed(withdraw.value().get()))
            .or_else(|| list.get().and_then(Result::err))
            .map(|e| refusal_message(lang.0.get(), &e))
    };
    let submit = move || {
        let h = hours.get_untracked();
        let notice = NoticeRequest {
            title: title.get_untracked(),
            body: body.get_untracked(),
            until: (h > 0).then(|| {
                Timestamp::from_millis(js_sys::Date::now() as i64 + i64::from(h) * 3_600_000)
            }),
        };
        publish.dispatch(notice);
    };
    view! {
        <section class="list-panel notice-board" data-test="notice-board">
            <header><h2>{lang.text(Msg::Notices)}</h2></header>
            {is_commander.then(|| view! {
                <form class="notice-form" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                    <label>{lang.text(Msg::NoticeTitle)}
                        <input data-test="notice-title" maxlength=NOTICE_TITLE_CHARS required prop:value=title
                            on:input=move |ev| title.set(event_target_value(&ev))/>
                    </label>
                    <label>{lang.text(Msg::NoticeText)}
                        <textarea data-test="notice-body" maxlength=NOTICE_BODY_CHARS rows="3" prop:value=body
                            on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                    </label>
                    <label>{lang.text(Msg::ShownFor)}
                        <select data-test="notice-until" on:change=move |ev| {
                            if let Ok(h) = event_target_value(&ev).parse() { hours.set(h) }
                        }>
                            {SHOWN_FOR_HOURS.iter().map(|h| view! {
                                <option value=h.to_string() selected=*h == DEFAULT_HOURS>
                                    {move || shown_for(lang.0.get(), *h)}
                                </option>
                            }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="primary" data-test="notice-publish">{lang.text(Msg::Publish)}</button>
                </form>
            })}
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <ul class="notice-list">
                <For each=notices key=|n| n.id let:notice>
                    <li class="notice" data-test="notice" data-notice-id=notice.id.to_string()>
                        <strong>{notice.title.clone()}</strong>
                        <p>{notice.body.clone()}</p>
                        <span class="meta">{
                            let notice = notice.clone();
                            move || period(lang.0.get(), &notice)
                        }</span>
                        {is_commander.then(|| view! {
                            <button data-test="notice-withdraw" on:click=move |_| { withdraw.dispatch(notice.id); }>
                                {lang.text(Msg::Withdraw)}
                            </button>
                        })}
                    </li>
                </For>
            </ul>
            {move || notices().is_empty().then(|| view! { <p class="empty">{lang.text(Msg::NoNotices)}</p> })}
        </section>
    }
}
