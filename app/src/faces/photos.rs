//! A case's photos, before, during and after the work: thumbnails that open the photo,
//! and for those who may add some, a button that opens the tablet's or phone's camera
//! (`<input type=file accept=image/* capture>`). The file goes to the server as it
//! is; the server keeps only its own re-encoded copy, without EXIF or GPS.

use crate::api;
use crate::i18n::{date_time, names, use_language, Msg};
use crate::outbox::refusal_message;
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::cases::{Case, CasePhoto, PhotoKind};
use wasm_bindgen::JsCast;

#[component]
pub fn CasePhotos(
    case: i64,
    photos: Vec<CasePhoto>,
    can_add: bool,
    /// Called with the case as the server has it after an upload.
    on_added: Callback<Case>,
) -> impl IntoView {
    let lang = use_language();
    let kind = RwSignal::new(PhotoKind::Before);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let chosen = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        input.set_value("");
        busy.set(true);
        error.set(None);
        let kind = kind.get_untracked();
        spawn_local(async move {
            match api::add_photo(case, kind, file).await {
                Ok(updated) => on_added.run(updated),
                Err(e) => error.set(Some(refusal_message(lang.0.get_untracked(), &e))),
            }
            busy.set(false);
        });
    };
    let empty = photos.is_empty();
    view! {
        <section class="case-photos" data-test="case-photos">
            <h3>{move || lang.t(Msg::Photos)}</h3>
            {empty.then(|| view! { <p class="muted">{move || lang.t(Msg::NoPhotos)}</p> })}
            <ul class="photo-strip">
                {photos.into_iter().map(|p| {
                    let (kind, at) = (p.kind, p.at.clone());
                    view! {
                        <li data-test="case-photo" data-kind=kind.as_str()>
                            <a href=api::photo_url(case, p.id, false) target="_blank" rel="noopener">
                                <img src=api::photo_url(case, p.id, true) loading="lazy"
                                    width=p.width.min(320) alt=move || names::photo_kind(lang.0.get(), kind)/>
                            </a>
                            <span>{move || names::photo_kind(lang.0.get(), kind)}" · "{move || date_time(lang.0.get(), &at)}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {can_add.then(|| view! {
                <div class="photo-add">
                    <select data-test="photo-kind" on:change=move |ev| {
                        if let Some(k) = PhotoKind::parse(&event_target_value(&ev)) { kind.set(k) }
                    }>
                        {PhotoKind::ALL.iter().map(|k| view! {
                            <option value=k.as_str() selected=move || kind.get() == *k>
                                {move || names::photo_kind(lang.0.get(), *k)}
                            </option>
                        }).collect_view()}
                    </select>
                    <label class="button">
                        {move || if busy.get() { lang.t(Msg::Uploading) } else { lang.t(Msg::AddPhoto) }}
                        <input type="file" accept="image/*" capture="environment"
                            data-test="photo-input" class="visually-hidden"
                            disabled=move || busy.get() on:change=chosen/>
                    </label>
                </div>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-test="photo-error">{e}</p> })}
        </section>
    }
}
