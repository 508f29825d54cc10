//! A case's photos, before, during and after the work: the thumbnail that opens the
//! photo (the case panel shows each in its timeline), and for those who may add some, a
//! button that opens the tablet's or phone's camera
//! (`<input type=file accept=image/* capture>`). The app redraws the photo smaller
//! (at most [`SENT_SIDE`] px, JPEG) and sends it through the outbox: without a
//! network it waits there, shown as "waiting to upload", and goes when the network is
//! back. The server keeps only its own re-encoded copy, without EXIF or GPS.

use crate::api;
use crate::i18n::{names, tr, use_language, Msg};
use crate::live::use_live;
use crate::outbox::{self, refusal_message, use_outbox, Pending, Sent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::cases::{Case, CasePhoto, PhotoKind};
use wasm_bindgen::{JsCast, JsValue};

/// The longest side of a photo as the app sends it, and its JPEG quality. The server
/// keeps up to 2,048 px, but a photo waiting in the outbox lives in the browser's
/// `localStorage` (about 5 MB for everything kept) and must fit next to others; about
/// 300 KB each at this size. A smaller upload also goes faster on a weak signal.
const SENT_SIDE: f64 = 1600.0;
const SENT_QUALITY: f64 = 0.8;

/// `file` redrawn at most [`SENT_SIDE`] px on its longest side, upright (the browser
/// applies the camera's orientation when it draws), as a JPEG `data:` URL.
async fn shrink(file: &web_sys::File) -> Result<String, JsValue> {
    let url = web_sys::Url::create_object_url_with_blob(file)?;
    let image = web_sys::HtmlImageElement::new()?;
    image.set_src(&url);
    let decoded = wasm_bindgen_futures::JsFuture::from(image.decode()).await;
    let _ = web_sys::Url::revoke_object_url(&url);
    decoded?;
    let (width, height) = (image.natural_width(), image.natural_height());
    if width == 0 || height == 0 {
        return Err("empty image".into());
    }
    let scale = (SENT_SIDE / f64::from(width.max(height))).min(1.0);
    let side = |px: u32| (f64::from(px) * scale).round().max(1.0);
    let (w, h) = (side(width), side(height));
    let canvas: web_sys::HtmlCanvasElement = document().create_element("canvas")?.unchecked_into();
    canvas.set_width(w as u32);
    canvas.set_height(h as u32);
    let context: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or("no 2d context")?
        .unchecked_into();
    context.draw_image_with_html_image_element_and_dw_and_dh(&image, 0.0, 0.0, w, h)?;
    canvas.to_data_url_with_type_and_encoder_options("image/jpeg", &JsValue::from_f64(SENT_QUALITY))
}

/// A photo's thumbnail, opening the photo itself.
#[component]
pub fn PhotoThumb(case: i64, photo: CasePhoto) -> impl IntoView {
    let lang = use_language();
    let kind = photo.kind;
    view! {
        <a href=api::photo_url(case, photo.id, false) target="_blank" rel="noopener" class="photo">
            <img src=api::photo_url(case, photo.id, true) loading="lazy"
                width=photo.width.min(320) alt=move || names::photo_kind(lang.0.get(), kind)/>
        </a>
    }
}

/// The camera button with the kind of photo (before, during, after), and the photos
/// of the case still waiting in the outbox.
#[component]
pub fn AddPhoto(
    case: i64,
    /// Called with the case as the server has it after an upload.
    on_added: Callback<Case>,
) -> impl IntoView {
    let lang = use_language();
    let (outbox, live) = (use_outbox(), use_live());
    let kind = RwSignal::new(PhotoKind::Before);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // This case's photos waiting in the outbox, as `data:` URLs.
    let upload_url = format!("/api/v1/cases/{case}/photos");
    let waiting = Memo::new(move |_| {
        outbox.map_or_else(Vec::new, |o| {
            o.pending.with(|queue| {
                queue
                    .iter()
                    .filter(|p| p.url.starts_with(&upload_url))
                    .filter_map(|p| p.photo.clone())
                    .collect::<Vec<_>>()
            })
        })
    });
    // One of them sent: show the case as the server now has it.
    Effect::new(move |before: Option<usize>| {
        let now = waiting.with(Vec::len);
        if before.is_some_and(|before| now < before) {
            spawn_local(async move {
                if let Ok(updated) = api::case(case).await {
                    on_added.run(updated);
                }
            });
        }
        now
    });
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
        let l = lang.0.get_untracked();
        // Not cancelled with the panel: a photo taken goes, or waits in the outbox,
        // even when the panel was closed meanwhile.
        spawn_local(async move {
            let Ok(data_url) = shrink(&file).await else {
                error.set(Some(tr(l, Msg::PhotoUnreadable).to_string()));
                busy.set(false);
                return;
            };
            let pending = Pending::photo(
                format!("{} #{case}", names::photo_kind(l, kind)),
                format!("/api/v1/cases/{case}/photos?kind={}", kind.as_str()),
                data_url,
            );
            match outbox::send_from(outbox, live, pending).await {
                Ok(Sent::Done(answer)) => {
                    if let Ok(updated) = answer.read() {
                        // (`try_`: the panel may be gone by now.)
                        on_added.try_run(updated);
                    }
                }
                Ok(Sent::Queued(_)) => {}
                Err(e) => error.set(Some(refusal_message(l, &e))),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="photo-add" data-test="case-photos">
            <ul class="photo-strip">
                {move || waiting.get().into_iter().map(|data_url| view! {
                    <li data-test="queued-photo" class="queued">
                        <img src=data_url width="160" alt=lang.text(Msg::PhotoQueued)/>
                        <span>{lang.text(Msg::PhotoQueued)}</span>
                    </li>
                }).collect_view()}
            </ul>
            <div class="photo-controls">
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
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-test="photo-error">{e}</p> })}
        </section>
    }
}
