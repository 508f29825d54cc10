//! `/public`: the public status page, no sign-in, for residents on phones over mobile
//! data. The communities on the map with circles for the cases of each area of about
//! 500 m (never an individual elder home), the street office's notices, and
//! per-community figures: open cases, reported and solved this month, the average days
//! to solve, and for communities with enough homes, the service figures: elders
//! visited, elder-care needs met (errands, repairs), alerts answered. Everything comes
//! from public endpoints with aggregates only.
//!
//! Built as an app of its own (`src/bin/linli-public.rs`) and without Leptos: a page
//! that shows a map and a table once needs no reactive framework, and leaving it out
//! keeps the phone's download within its budget (`make bench` prints each face's
//! bytes). The map is the same engine as the staff faces' ([`crate::map`]: layers,
//! tiles, gestures, [`Painter`]), put on the page by [`PublicMap`] with plain DOM
//! ([`crate::dom`]); its details panel says what the staff map's says
//! ([`crate::faces::map_panels`]).

use crate::dom::{self, el, El};
use crate::faces::map_panels::{building_details, community_name, road_details, Details};
use crate::i18n::{self, count, date_time, tr, Lang, Msg};
use crate::map::frame::{self, Painter};
use crate::map::gesture::{key_action, wheel_factor, zoom_limited, Gestures, KeyAction};
use crate::map::layers::{self, BaseShown, Hit, MapData};
use crate::map::markers::{Operations, Shown};
use crate::map::projection::Screen;
use crate::map::viewport::{follow, Follow, Viewport};
use crate::map::{overlays, Theme};
use linli_domain::api::{AreaStatus, CommunityStatus, PublicStatus};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlCanvasElement, HtmlInputElement, KeyboardEvent};
use web_sys::{MouseEvent, PointerEvent, WheelEvent};

/// Free space around the district when the map fits it, CSS pixels.
const FIT_PADDING_PX: f64 = 24.0;

/// The page's words in the current language: every element that shows a [`Msg`] is
/// listed here, and a language switch writes them all again.
struct Words {
    lang: Cell<Lang>,
    /// An element, the attribute that shows the words (`None`: its text), and the words.
    shown: RefCell<Vec<(Element, Option<&'static str>, Msg)>>,
}

impl Words {
    fn tr(&self, msg: Msg) -> &'static str {
        tr(self.lang.get(), msg)
    }

    fn write(&self, element: &Element, attribute: Option<&'static str>, msg: Msg) {
        let words = self.tr(msg);
        let _ = match attribute {
            Some(name) => element.set_attribute(name, words),
            None => {
                element.set_text_content(Some(words));
                Ok(())
            }
        };
    }

    /// `element` showing `msg` as its text, now and after a switch.
    fn text(&self, element: El, msg: Msg) -> El {
        self.write(&element.0, None, msg);
        self.shown.borrow_mut().push((element.0.clone(), None, msg));
        element
    }

    /// `element` with `msg` in its `attribute`, now and after a switch.
    fn attr(&self, element: El, attribute: &'static str, msg: Msg) -> El {
        self.write(&element.0, Some(attribute), msg);
        self.shown
            .borrow_mut()
            .push((element.0.clone(), Some(attribute), msg));
        element
    }

    fn switch(&self) {
        let next = self.lang.get().other();
        self.lang.set(next);
        i18n::remember_language(next);
        i18n::mark_page(next);
        for (element, attribute, msg) in self.shown.borrow().iter() {
            self.write(element, *attribute, *msg);
        }
    }
}

/// The page's parts that change with the figures.
struct Page {
    words: Rc<Words>,
    status: RefCell<Option<PublicStatus>>,
    notices: Element,
    error: Element,
    rows: Element,
    as_of: Element,
    map: Rc<PublicMap>,
}

/// Puts the public page on the document's body and loads its figures and map.
pub fn start() {
    let words = Rc::new(Words {
        lang: Cell::new(i18n::initial_language()),
        shown: RefCell::new(Vec::new()),
    });
    i18n::mark_page(words.lang.get());
    let map = PublicMap::new(words.clone());
    let page = Rc::new(Page {
        words: words.clone(),
        status: RefCell::new(None),
        notices: el("div").0,
        error: el("p").class("error").attr("role", "alert").0,
        rows: el("tbody").0,
        as_of: el("span").0,
        map: map.clone(),
    });
    let _ = page.error.set_attribute("hidden", "");

    let switch = {
        let page = page.clone();
        words
            .text(
                el("button").class("link").attr("data-test", "language"),
                Msg::LanguageSwitch,
            )
            .on("click", move |_| {
                page.words.switch();
                page.show_figures();
                page.map.language_changed();
            })
    };
    let header = el("header")
        .class("bar")
        .child(words.text(el("span").class("brand"), Msg::AppName))
        .child(words.text(el("span").class("place"), Msg::Subdistrict))
        .child(words.text(
            el("span").class("face-name").attr("data-test", "face"),
            Msg::PublicFace,
        ))
        .child(el("span").class("spacer"))
        .child(words.text(
            el("a").class("link").attr("href", "/login"),
            Msg::StaffSignIn,
        ))
        .child(switch);
    let mut head_row = el("tr");
    for msg in [
        Msg::Community,
        Msg::OpenCases,
        Msg::ReportedThisMonth,
        Msg::SolvedThisMonth,
        Msg::AverageDaysToSolve,
        Msg::EldersVisited,
        Msg::ElderNeedsMet,
        Msg::AlertsAnswered,
    ] {
        head_row = head_row.child(words.text(el("th").attr("scope", "col"), msg));
    }
    let table = el("table")
        .class("status-table")
        .child(el("thead").child(head_row))
        .child(&page.rows);
    let figures = el("section")
        .class("public-figures")
        .child(&page.notices)
        .child(&page.error)
        .child(table)
        .child(words.text(el("p").class("note"), Msg::AreasLegend))
        .child(
            el("p")
                .class("note")
                .attr("data-test", "as-of")
                .child(words.text(el("span"), Msg::AsOf))
                .child(el("span").text(" "))
                .child(&page.as_of),
        );
    let face = el("div")
        .class("face face-public theme-light")
        .child(header)
        .child(words.text(el("p").class("intro"), Msg::PublicIntro))
        .child(
            el("div")
                .class("public-body")
                .child(&map.container)
                .child(figures),
        );
    if let Some(body) = dom::document().body() {
        let _ = body.append_child(face.as_ref());
    }
    map.start();
    wasm_bindgen_futures::spawn_local(async move {
        match crate::api::public_status().await {
            Ok(status) => {
                page.map.show_areas(status.areas.clone());
                *page.status.borrow_mut() = Some(status);
                page.show_figures();
            }
            Err(e) => {
                web_sys::console::warn_1(&format!("cannot load the figures: {e:?}").into());
                page.words.text(El(page.error.clone()), Msg::FiguresFailed);
                let _ = page.error.remove_attribute("hidden");
            }
        }
    });
}

/// A figure, or a dash where the community is too small to say it.
fn figure(n: Option<u32>) -> String {
    n.map_or_else(|| "—".to_string(), |n| count(n.into()))
}

fn community_row(lang: Lang, c: &CommunityStatus) -> El {
    let days = c
        .average_days_to_solve
        .map_or_else(|| "—".to_string(), |d| format!("{d:.1}"));
    let name = if lang == Lang::Zh {
        &c.name
    } else {
        &c.name_en
    };
    el("tr")
        .attr("data-test", "community-status")
        .attr("data-community", c.id.as_str())
        .child(el("th").text(name).attr("scope", "row"))
        .child(el("td").text(&count(c.open_cases.into())))
        .child(el("td").text(&count(c.reported_this_month.into())))
        .child(el("td").text(&count(c.solved_this_month.into())))
        .child(el("td").text(&days))
        .child(el("td").text(&figure(c.elders_visited_this_month)))
        .child(el("td").text(&figure(c.elder_needs_met_this_month)))
        .child(el("td").text(&figure(c.alerts_answered_this_month)))
}

impl Page {
    /// The notices, the table's rows and the time of the figures, in the current
    /// language.
    fn show_figures(&self) {
        let status = self.status.borrow();
        let Some(status) = status.as_ref() else {
            return;
        };
        let lang = self.words.lang.get();
        self.rows.set_text_content(None);
        for c in &status.communities {
            let _ = self.rows.append_child(community_row(lang, c).as_ref());
        }
        self.as_of
            .set_text_content(Some(&date_time(lang, status.as_of)));
        self.notices.set_text_content(None);
        if status.notices.is_empty() {
            return;
        }
        let mut section = el("section")
            .class("public-notices")
            .attr("data-test", "public-notices")
            .child(el("h2").text(tr(lang, Msg::Notices)));
        for notice in &status.notices {
            section = section.child(
                el("article")
                    .class("notice")
                    .attr("data-test", "public-notice")
                    .child(el("h3").text(&notice.title))
                    .child(el("p").text(&notice.body))
                    .child(
                        el("p")
                            .class("meta")
                            .text(&crate::faces::notices::period(lang, notice)),
                    ),
            );
        }
        let _ = self.notices.append_child(section.as_ref());
    }
}

/// How far the map's layers are.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Loading {
    Busy(usize),
    Done,
    Failed,
}

/// The map on the public page: the base layers, the cells of cases, and the zoom
/// buttons, layer toggles and details panel around the canvas.
struct PublicMap {
    words: Rc<Words>,
    container: Element,
    canvas: HtmlCanvasElement,
    /// "Loading…" or "cannot load", over the map until it is whole.
    status: Element,
    panel: RefCell<Option<(Element, Hit)>>,
    data: RefCell<MapData>,
    /// Bumped whenever a layer arrives: the base tiles depend on it.
    data_version: Cell<u64>,
    loading: Cell<Loading>,
    areas: RefCell<Vec<AreaStatus>>,
    /// Bumped whenever the areas change: the still overlays' picture depends on them.
    areas_version: Cell<u64>,
    size: Cell<(f64, f64)>,
    viewport: Cell<Option<Viewport>>,
    /// The last view fitted to the whole district: while the map still shows it, a
    /// layer arriving or the map changing size fits it again.
    last_fit: Cell<Option<Viewport>>,
    gestures: RefCell<Gestures>,
    base: Cell<BaseShown>,
    painter: RefCell<Painter>,
    frame_pending: Cell<bool>,
}

/// The event as the kind it is (the listener was added for that kind).
fn as_kind<T: JsCast>(event: Event) -> T {
    event.unchecked_into()
}

impl PublicMap {
    fn new(words: Rc<Words>) -> Rc<PublicMap> {
        let canvas: HtmlCanvasElement = words
            .attr(
                el("canvas")
                    .attr("id", "map")
                    .attr("tabindex", "0")
                    .attr("role", "img"),
                "aria-label",
                Msg::MapLabel,
            )
            .into();
        let status = words.text(el("p").class("map-status"), Msg::MapLoading).0;
        let container = el("div").class("map").child(&canvas).child(&status).0;
        Rc::new(PublicMap {
            words,
            container,
            canvas,
            status,
            panel: RefCell::new(None),
            data: RefCell::new(MapData::default()),
            data_version: Cell::new(0),
            loading: Cell::new(Loading::Busy(crate::base_layers::ALL.len())),
            areas: RefCell::new(Vec::new()),
            areas_version: Cell::new(0),
            size: Cell::new((0.0, 0.0)),
            viewport: Cell::new(None),
            last_fit: Cell::new(None),
            gestures: RefCell::new(Gestures::default()),
            base: Cell::new(BaseShown::default()),
            painter: RefCell::new(Painter::default()),
            frame_pending: Cell::new(false),
        })
    }

    /// Adds the controls, listens to the user and the container's size, and loads the
    /// layers (each drawn as soon as it arrives).
    fn start(self: &Rc<Self>) {
        let _ = self.container.append_child(self.layer_panel().as_ref());
        let _ = self.container.append_child(self.controls().as_ref());
        self.listen();
        for layer in crate::base_layers::ALL {
            let map = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // (The page's map is never gone: no `None`.)
                let loaded = crate::base_layers::load(layer, || false).await;
                if let Some(loaded) = loaded.transpose() {
                    map.arrived(layer.as_str(), loaded);
                }
            });
        }
        // The container can change size without the window doing so (the table
        // filling in beside it), so watch the container itself. The observer also
        // tells the first size, once the browser has laid the page out: asking for it
        // here would lay the page out inside this task, which `make bench` found made
        // it the load's longest (a 30-60 ms layout).
        let map = self.clone();
        let measure = Closure::<dyn Fn()>::new(move || map.measure());
        if let Ok(watch) = web_sys::ResizeObserver::new(measure.as_ref().unchecked_ref()) {
            watch.observe(&self.container);
        }
        measure.forget();
    }

    fn arrived(
        self: &Rc<Self>,
        what: &str,
        loaded: Result<crate::base_layers::Loaded, crate::api::ApiError>,
    ) {
        let next = match loaded {
            Ok(loaded) => {
                loaded.put(&mut self.data.borrow_mut());
                self.data_version.set(self.data_version.get() + 1);
                match self.loading.get() {
                    Loading::Busy(left) if left > 1 => Loading::Busy(left - 1),
                    Loading::Busy(_) => Loading::Done,
                    other => other,
                }
            }
            Err(e) => {
                web_sys::console::warn_1(&format!("cannot load {what}: {e:?}").into());
                Loading::Failed
            }
        };
        self.loading.set(next);
        match next {
            Loading::Busy(_) => {}
            Loading::Done => self.status.remove(),
            Loading::Failed => {
                self.words.text(El(self.status.clone()), Msg::MapFailed);
            }
        }
        self.follow_size_and_data();
    }

    fn measure(self: &Rc<Self>) {
        let rect = self.container.get_bounding_client_rect();
        self.size.set((rect.width(), rect.height()));
        self.follow_size_and_data();
    }

    /// The view follows the container's size and the data (`viewport::follow`).
    fn follow_size_and_data(self: &Rc<Self>) {
        let (w, h) = self.size.get();
        let has_data = self.data.borrow().extent().is_some();
        let current = self.viewport.get();
        match follow(current, self.last_fit.get(), (w, h), has_data) {
            Follow::Fit => self.fit(),
            Follow::Resize(v) => self.set_view(Some(v)),
            Follow::Stay => self.redraw(),
        }
    }

    fn fit(self: &Rc<Self>) {
        let (w, h) = self.size.get();
        let fitted = self
            .data
            .borrow()
            .extent()
            .map(|e| Viewport::fit(e, w, h, FIT_PADDING_PX));
        if fitted.is_some() {
            self.last_fit.set(fitted);
            self.set_view(fitted);
        }
    }

    fn set_view(self: &Rc<Self>, view: Option<Viewport>) {
        self.viewport.set(view);
        self.redraw();
    }

    fn change_view(self: &Rc<Self>, change: impl FnOnce(Viewport) -> Viewport) {
        self.set_view(self.viewport.get().map(change));
    }

    fn zoom_by(self: &Rc<Self>, factor: f64) {
        self.change_view(|v| {
            let centre = Screen {
                x: v.width / 2.0,
                y: v.height / 2.0,
            };
            zoom_limited(v, factor, centre)
        });
    }

    fn show_areas(self: &Rc<Self>, areas: Vec<AreaStatus>) {
        *self.areas.borrow_mut() = areas;
        self.areas_version.set(self.areas_version.get() + 1);
        self.redraw();
    }

    /// Names on the map and in the open panel in the language just chosen.
    fn language_changed(self: &Rc<Self>) {
        let open = self.panel.borrow().as_ref().map(|(_, hit)| hit.clone());
        if let Some(hit) = open {
            self.open(Some(hit));
        }
        self.redraw();
    }

    /// Draws at the next animation frame, with whatever is current then.
    fn redraw(self: &Rc<Self>) {
        if self.frame_pending.replace(true) {
            return;
        }
        let map = self.clone();
        dom::next_frame(move || crate::timing::measured("linli: map drawn", || map.draw()));
    }

    fn draw(self: &Rc<Self>) {
        self.frame_pending.set(false);
        let Some(v) = self.viewport.get() else {
            return;
        };
        let (data, areas) = (self.data.borrow(), self.areas.borrow());
        let frame = overlays::Frame {
            data: &data,
            viewport: &v,
            palette: &Theme::Light.palette(),
            chinese: self.words.lang.get() == Lang::Zh,
            operations: &Operations::default(),
            operations_version: self.areas_version.get(),
            shown: Shown::default(),
            pulse: frame::pulse_now(),
            public_areas: &areas,
            report_pin: None,
            here: None,
            destination: None,
        };
        let painted = self.painter.borrow_mut().paint(
            &self.canvas,
            &frame,
            self.data_version.get(),
            self.base.get(),
        );
        // Tiles still missing: draw again next frame.
        if painted.is_some_and(|p| p.more) {
            self.redraw();
        }
    }

    /// Where a pointer event is on the canvas.
    fn local(&self, event: &MouseEvent) -> Screen {
        let r = self.canvas.get_bounding_client_rect();
        Screen {
            x: f64::from(event.client_x()) - r.left(),
            y: f64::from(event.client_y()) - r.top(),
        }
    }

    /// Hands mouse, touch, wheel and keys to the gesture controller.
    fn listen(self: &Rc<Self>) {
        let canvas = &self.canvas;
        let map = self.clone();
        dom::on(canvas, "pointerdown", move |e| {
            let e: PointerEvent = as_kind(e);
            // Only the main button drags and clicks.
            if e.button() != 0 {
                return;
            }
            let _ = map.canvas.set_pointer_capture(e.pointer_id());
            // Focus for the arrow keys, without scrolling the page under the finger.
            let options = web_sys::FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = map.canvas.focus_with_options(&options);
            map.gestures
                .borrow_mut()
                .press(e.pointer_id(), map.local(&e));
        });
        let map = self.clone();
        dom::on(canvas, "pointermove", move |e| {
            let e: PointerEvent = as_kind(e);
            let step = map
                .gestures
                .borrow_mut()
                .drag(e.pointer_id(), map.local(&e));
            if let Some(step) = step {
                map.change_view(|v| step.apply(v));
            }
        });
        let map = self.clone();
        dom::on(canvas, "pointerup", move |e| {
            let e: PointerEvent = as_kind(e);
            let click = map.gestures.borrow_mut().lift(e.pointer_id());
            // A click or tap opens the details of what is there.
            if let (Some(at), Some(v)) = (click, map.viewport.get()) {
                let hit = layers::hit_test(&map.data.borrow(), &v, at, map.base.get());
                map.open(hit);
            }
        });
        let map = self.clone();
        dom::on(canvas, "pointercancel", move |e| {
            let e: PointerEvent = as_kind(e);
            map.gestures.borrow_mut().cancel(e.pointer_id());
        });
        let map = self.clone();
        dom::on(canvas, "wheel", move |e| {
            e.prevent_default();
            let e: WheelEvent = as_kind(e);
            let (at, factor) = (map.local(&e), wheel_factor(e.delta_y(), e.delta_mode()));
            map.change_view(|v| zoom_limited(v, factor, at));
        });
        let map = self.clone();
        dom::on(canvas, "dblclick", move |e| {
            let at = map.local(&as_kind(e));
            map.change_view(|v| zoom_limited(v, 2.0, at));
        });
        let map = self.clone();
        dom::on(canvas, "keydown", move |e| {
            let e: KeyboardEvent = as_kind(e);
            let Some(action) = key_action(&e.key()) else {
                return;
            };
            e.prevent_default();
            match action {
                KeyAction::Pan(dx, dy) => map.change_view(|v| v.panned_by(dx, dy)),
                KeyAction::Zoom(factor) => map.zoom_by(factor),
                KeyAction::Fit => map.fit(),
                KeyAction::Close => map.open(None),
            }
        });
    }

    /// The zoom and fit buttons.
    fn controls(self: &Rc<Self>) -> El {
        let button = |test: &str, title: Msg, label: &str, act: fn(&Rc<PublicMap>)| {
            let map = self.clone();
            self.words
                .attr(
                    el("button").attr("data-test", test).text(label),
                    "title",
                    title,
                )
                .on("click", move |_| act(&map))
        };
        el("div")
            .class("map-controls")
            .child(button("zoom-in", Msg::ZoomIn, "+", |m| m.zoom_by(2.0)))
            .child(button("zoom-out", Msg::ZoomOut, "−", |m| m.zoom_by(0.5)))
            .child(button("fit", Msg::FitDistrict, "⤢", |m| m.fit()))
    }

    /// The base layers' toggles.
    fn layer_panel(self: &Rc<Self>) -> El {
        let toggle =
            |msg: Msg, test: &str, get: fn(BaseShown) -> bool, set: fn(&mut BaseShown, bool)| {
                let map = self.clone();
                let input = el("input").attr("type", "checkbox").attr("data-test", test);
                input
                    .as_ref()
                    .unchecked_ref::<HtmlInputElement>()
                    .set_checked(get(self.base.get()));
                let input = input.on("change", move |e| {
                    let on = e
                        .target()
                        .is_some_and(|t| t.unchecked_into::<HtmlInputElement>().checked());
                    let mut base = map.base.get();
                    set(&mut base, on);
                    map.base.set(base);
                    map.redraw();
                });
                el("label")
                    .class("toggle")
                    .child(input)
                    .child(self.words.text(el("span"), msg))
            };
        el("details")
            .class("layer-panel")
            .attr("data-test", "layers")
            .child(self.words.text(el("summary"), Msg::Layers))
            .child(toggle(
                Msg::Grids,
                "layer-grids",
                |b| b.grids,
                |b, on| b.grids = on,
            ))
            .child(toggle(
                Msg::Roads,
                "layer-roads",
                |b| b.roads,
                |b, on| b.roads = on,
            ))
            .child(toggle(
                Msg::Buildings,
                "layer-buildings",
                |b| b.buildings,
                |b, on| b.buildings = on,
            ))
    }

    /// Opens the details of `hit` (closing what was open), or just closes them.
    fn open(self: &Rc<Self>, hit: Option<Hit>) {
        if let Some((panel, _)) = self.panel.borrow_mut().take() {
            panel.remove();
        }
        let Some(hit) = hit else {
            return;
        };
        let lang = self.words.lang.get();
        let details: Option<Details> = {
            let data = self.data.borrow();
            let community = |id: &str| community_name(&data.communities, lang, id);
            match &hit {
                Hit::Building(b) => Some(building_details(b, &community)),
                Hit::Road(r) => Some(road_details(r)),
                Hit::Community(c) => Some((Msg::Community, community(&c.id), vec![])),
                // Homes, cases and patrols are never on the public map.
                _ => None,
            }
        };
        let Some((kind, title, rows)) = details else {
            return;
        };
        let map = self.clone();
        let close = el("button")
            .class("close")
            .attr("title", tr(lang, Msg::Close))
            .text("×")
            .on("click", move |_| map.open(None));
        let mut list = el("dl");
        for (label, value) in rows {
            list = list
                .child(el("dt").text(tr(lang, label)))
                .child(el("dd").text(&value));
        }
        let panel = el("aside")
            .class("feature-panel")
            .attr("data-test", "feature-panel")
            .child(close)
            .child(el("p").class("kind").text(tr(lang, kind)))
            .child(el("h2").attr("data-test", "feature-title").text(&title))
            .child(list);
        let _ = self.container.append_child(panel.as_ref());
        *self.panel.borrow_mut() = Some((panel.0, hit));
    }
}
