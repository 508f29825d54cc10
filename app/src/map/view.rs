//! [`MapView`]: the map component. Fetches the layers, keeps the canvas the size of its
//! container, and redraws when the data, the size or the language changes.

use super::canvas;
use super::layers::{self, ProjectedCommunity};
use super::theme::Theme;
use super::viewport::{Bounds, Viewport};
use crate::api;
use crate::i18n::{use_language, Lang, Msg};
use leptos::html::{Canvas, Div};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Free space around the district when the map fits it, CSS pixels.
const FIT_PADDING_PX: f64 = 24.0;

#[derive(Debug, Clone, PartialEq)]
enum Layers {
    Loading,
    Ready(Vec<ProjectedCommunity>),
    Failed,
}

#[component]
pub fn MapView(theme: Theme) -> impl IntoView {
    let lang = use_language();
    let container = NodeRef::<Div>::new();
    let canvas_ref = NodeRef::<Canvas>::new();
    let layers = RwSignal::new(Layers::Loading);
    let size = RwSignal::new((0.0_f64, 0.0_f64));

    spawn_local(async move {
        match api::communities().await {
            Ok(layer) => layers.set(Layers::Ready(layers::project_communities(&layer))),
            Err(e) => {
                leptos::logging::warn!("cannot load the communities layer: {e:?}");
                layers.set(Layers::Failed);
            }
        }
    });

    let measure = move || {
        if let Some(el) = container.get_untracked() {
            let rect = el.get_bounding_client_rect();
            size.set((rect.width(), rect.height()));
        }
    };
    Effect::new(move |_| {
        if container.get().is_some() {
            measure();
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || resize.remove());

    Effect::new(move |_| {
        let (width, height) = size.get();
        let chinese = lang.0.get() == Lang::Zh;
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        if width < 1.0 || height < 1.0 {
            return;
        }
        let Some(ctx) = canvas::prepare(&canvas, width, height, window().device_pixel_ratio())
        else {
            return;
        };
        let palette = theme.palette();
        layers.with(|state| {
            let communities: &[ProjectedCommunity] = match state {
                Layers::Ready(items) => items,
                _ => &[],
            };
            let commands = Bounds::around(
                communities
                    .iter()
                    .flat_map(|c| [c.bounds.min, c.bounds.max]),
            )
            .map(|all| {
                let viewport = Viewport::fit(all, width, height, FIT_PADDING_PX);
                layers::communities(communities, &viewport, &palette, chinese)
            })
            .unwrap_or_default();
            canvas::replay(&ctx, width, height, palette.background, &commands);
            // For tests and `make bench`: what was drawn, and when (ms since navigation).
            let _ = canvas.set_attribute("data-communities", &communities.len().to_string());
            if let Some(performance) = window().performance() {
                let _ = canvas.set_attribute("data-drawn-ms", &format!("{:.1}", performance.now()));
            }
        });
    });

    let status = move || match layers.get() {
        Layers::Loading => Some(lang.t(Msg::MapLoading)),
        Layers::Failed => Some(lang.t(Msg::MapFailed)),
        Layers::Ready(_) => None,
    };
    view! {
        <div class="map" node_ref=container>
            <canvas id="map" node_ref=canvas_ref aria-label=move || lang.t(Msg::Communities)></canvas>
            {move || status().map(|text| view! { <p class="map-status">{text}</p> })}
        </div>
    }
}
