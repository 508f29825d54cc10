//! Setting out on a patrol from the tablet: choose one of your routes, start, and the
//! tablet shares where it is (its [`Here`]) while the run lasts: at most every
//! [`SHARE_EVERY_MS`], through the outbox, so positions taken without a signal arrive
//! later with their own times; the map follows the worker. On the way, "report a
//! problem here" opens a case at the worker's position, found on this run. Ending the
//! run stops the sharing; a run that missed checkpoints names them and asks why
//! before it ends.

use crate::api;
use crate::here::{use_here, Fix, Here};
use crate::i18n::{tr, use_language, Lang, Msg};
use crate::live::{use_live, Live, ReportAt};
use crate::outbox::{self, use_outbox, Outbox, Pending};
use crate::session::use_session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::events::EventKind;
use linli_domain::limits::MISSED_REASON_CHARS;
use linli_domain::patrol::{not_covered, Checkpoint, EndRun, PatrolRun};
use linli_domain::patrol::{StartRun, UnitPosition};
use linli_domain::Timestamp;
use linli_domain::{Role, SessionInfo};

/// The least time between two positions sent.
const SHARE_EVERY_MS: f64 = 10_000.0;

/// The routes `user` may walk: their communities' and the district's own.
fn my_routes(live: Live, user: &SessionInfo) -> Vec<(String, String)> {
    live.snapshot.with(|s| {
        s.as_ref()
            .map(|s| {
                s.routes
                    .features
                    .iter()
                    .map(|f| &f.properties)
                    .filter(|r| {
                        user.role == Role::Commander
                            || r.community.as_deref().is_none_or(|c| {
                                user.communities.iter().any(|mine| mine.as_str() == c)
                            })
                    })
                    .map(|r| (r.id.clone(), r.name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Sends one position of `unit`, taken `at`, through the outbox. A task of its own
/// (`spawn_local`), not an action: no control waits for it or shows its answer, and
/// the sharing goes on whatever tab is open.
fn send_position(
    live: Live,
    outbox: Option<Outbox>,
    unit: &str,
    position: [f64; 2],
    at: Timestamp,
) {
    let pending = Pending::new(
        format!("{unit} @ {at}"),
        format!("/api/v1/patrols/units/{unit}/position"),
        &UnitPosition {
            position,
            at: Some(at),
        },
        Some(EventKind::PatrolPosition),
    );
    spawn_local(async move {
        if let Err(e) = outbox::send(outbox, live, pending).await {
            leptos::logging::warn!(
                "position refused: {}",
                outbox::refusal_message(Lang::En, &e)
            );
        }
    });
}

/// What the sharing remembers between positions.
struct Throttle {
    last_sent: f64,
    /// The newest position not sent yet.
    waiting: Option<Fix>,
    /// A send is planned for when the interval is up.
    planned: bool,
}

/// While a run of `unit` is on, sends the device's positions (see [`Here`]) at most
/// every [`SHARE_EVERY_MS`]: a position that comes sooner waits, and the newest waiting
/// one goes when the time is up (so the last place the unit reached is never lost).
fn share_positions(
    live: Live,
    outbox: Option<Outbox>,
    here: Here,
    unit: String,
    on_run: Memo<bool>,
) {
    let throttle = StoredValue::new(Throttle {
        last_sent: f64::NEG_INFINITY,
        waiting: None,
        planned: false,
    });
    let send_waiting = move || {
        let fix = throttle
            .try_update_value(|t| {
                t.planned = false;
                t.waiting.take()
            })
            .flatten();
        if let Some(fix) = fix.filter(|_| on_run.get_untracked()) {
            throttle.update_value(|t| t.last_sent = js_sys::Date::now());
            send_position(live, outbox, &unit, fix.position, fix.at);
        }
    };
    Effect::new(move |_| {
        let (Some(fix), true) = (here.fix.get(), on_run.get()) else {
            return;
        };
        let wait = throttle
            .try_update_value(|t| {
                t.waiting = Some(fix);
                let wait = t.last_sent + SHARE_EVERY_MS - js_sys::Date::now();
                if wait > 0.0 && t.planned {
                    return None;
                }
                t.planned = wait > 0.0;
                Some(wait)
            })
            .flatten();
        match wait {
            None => {}
            Some(wait) if wait <= 0.0 => send_waiting.clone()(),
            Some(wait) => set_timeout(
                send_waiting.clone(),
                std::time::Duration::from_millis(wait as u64),
            ),
        }
    });
}

/// The run `unit` is out on, if any.
fn open_run_of(live: Live, unit: String) -> Memo<Option<PatrolRun>> {
    Memo::new(move |_| {
        live.snapshot.with(|s| {
            s.as_ref().and_then(|s| {
                s.units
                    .iter()
                    .find(|u| u.unit == unit && u.ended_at.is_none())
                    .cloned()
            })
        })
    })
}

/// On the tablet: shares its position while a run of the signed-in worker is on,
/// whoever started it and whatever tab is open.
pub fn share_while_on_patrol() {
    let (Some(live), Some(here), Some(user)) = (use_live(), use_here(), use_session().user())
    else {
        return;
    };
    if user.role == Role::Viewer {
        return;
    }
    let unit = user.username.to_string();
    let my_run = open_run_of(live, unit.clone());
    let on_run = Memo::new(move |_| my_run.with(Option::is_some));
    share_positions(live, use_outbox(), here, unit, on_run);
}

#[component]
pub fn PatrolControl() -> impl IntoView {
    let lang = use_language();
    let (Some(live), Some(user)) = (use_live(), use_session().user()) else {
        return ().into_any();
    };
    if user.role == Role::Viewer {
        return ().into_any();
    }
    let unit = user.username.to_string();
    let routes = {
        let user = user.clone();
        Memo::new(move |_| my_routes(live, &user))
    };
    let chosen = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let my_run = open_run_of(live, unit.clone());
    let here = use_here();
    let starting = {
        let unit = unit.clone();
        Action::new_unsync(move |start: &StartRun| {
            let (unit, start) = (unit.clone(), start.clone());
            async move { api::start_run(&unit, &start).await }
        })
    };
    let ending = {
        let unit = unit.clone();
        Action::new_unsync(move |end: &EndRun| {
            let (unit, end) = (unit.clone(), end.clone());
            async move { api::end_run(&unit, &end).await }
        })
    };
    // Ending: straight away when every checkpoint was passed, else after the team
    // said why (`asking` holds the checkpoints missed while the question is open).
    let asking = RwSignal::new(None::<Vec<Checkpoint>>);
    // A run started or ended: shown on the map at once, and the map follows the worker
    // while the run is on.
    for (answers, on_run) in [(starting.value(), true), (ending.value(), false)] {
        Effect::new(move |_| match answers.get() {
            Some(Ok(run)) => {
                error.set(None);
                if !on_run {
                    asking.set(None);
                }
                live.show_change(EventKind::PatrolRun, &run);
                if let Some(here) = here {
                    here.follow.set(on_run);
                }
            }
            Some(Err(e)) => error.set(Some(outbox::refusal_message(lang.0.get_untracked(), &e))),
            None => {}
        });
    }
    let start = move |_| {
        let route = chosen
            .get_untracked()
            .or_else(|| routes.with_untracked(|r| r.first().map(|(id, _)| id.clone())));
        if let Some(route) = route {
            starting.dispatch(StartRun { route });
        }
    };
    let finish = move |end: EndRun| {
        ending.dispatch(end);
    };
    let end = move |_| {
        let missed = my_run
            .with_untracked(|run| run.as_ref().map(|run| missed_so_far(live, run)))
            .unwrap_or_default();
        if missed.is_empty() {
            finish(EndRun::default());
        } else {
            asking.set(Some(missed));
        }
    };
    let report_here = move |_| {
        let Some(run) = my_run.get_untracked() else {
            return;
        };
        let position = here.and_then(|h| h.fix.with_untracked(|f| f.as_ref().map(|f| f.position)));
        if let Some(position) = position.or(run.position) {
            live.report_at.set(Some(ReportAt {
                position,
                patrol_run: Some(run.id),
            }));
        }
    };
    view! {
        <div class="patrol-control" data-test="patrol-control">
            {move || match my_run.get() {
                None => view! {
                    <label>{lang.text(Msg::Route)}
                        <select data-test="patrol-route" on:change=move |ev| chosen.set(Some(event_target_value(&ev)))>
                            {routes.get().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                        </select>
                    </label>
                    <button class="primary" data-test="patrol-start" on:click=start>{lang.text(Msg::StartPatrol)}</button>
                }.into_any(),
                Some(run) => view! {
                    <p class="sharing" data-test="patrol-sharing">
                        {lang.text(Msg::SharingPosition)}" · "{lang.text(Msg::Coverage)}" "
                        {run.covered.len()}" / "{run.checkpoints}
                    </p>
                    <div class="patrol-actions">
                        <button class="primary" data-test="patrol-report-here" on:click=report_here>{lang.text(Msg::ReportHere)}</button>
                        <button data-test="patrol-end" on:click=end>{lang.text(Msg::EndPatrol)}</button>
                    </div>
                }.into_any(),
            }}
            {move || asking.get().map(|missed| view! {
                <MissedQuestion missed=missed on_end=finish on_keep_walking=move || asking.set(None)/>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
    .into_any()
}

/// The checkpoints of `run`'s route it has not passed yet.
fn missed_so_far(live: Live, run: &PatrolRun) -> Vec<Checkpoint> {
    live.snapshot.with_untracked(|s| {
        s.as_ref()
            .and_then(|s| {
                s.routes
                    .features
                    .iter()
                    .find(|r| r.properties.id == run.route)
            })
            .map(|route| {
                not_covered(&route.properties.checkpoints, &run.covered)
                    .into_iter()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The reasons a team most often gives, one tap each.
const COMMON_REASONS: [Msg; 4] = [
    Msg::ReasonRoadWorks,
    Msg::ReasonCalledAway,
    Msg::ReasonNoTime,
    Msg::ReasonWeather,
];

/// Before a run with checkpoints missed ends: which ones, and why (a common reason,
/// words of the team's own, or both).
#[component]
fn MissedQuestion(
    missed: Vec<Checkpoint>,
    on_end: impl Fn(EndRun) + Clone + Send + Sync + 'static,
    on_keep_walking: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = use_language();
    let chosen = RwSignal::new(None::<Msg>);
    let words = RwSignal::new(String::new());
    let error = RwSignal::new(None::<&'static str>);
    let names = missed
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join("、");
    let count = missed.len();
    let confirm = move |_| {
        let l = lang.0.get_untracked();
        let own = words.get_untracked().trim().to_string();
        let reason = match (chosen.get_untracked(), own.is_empty()) {
            (None, true) => {
                error.set(Some(tr(l, Msg::ReasonRequired)));
                return;
            }
            (None, false) => own,
            (Some(common), true) => tr(l, common).to_string(),
            (Some(common), false) => format!("{}：{own}", tr(l, common)),
        };
        on_end(EndRun {
            missed_reason: Some(reason),
        });
    };
    view! {
        <div class="missed-question" role="alertdialog" data-test="patrol-missed-question">
            <p class="warning">
                <strong>{lang.text(Msg::MissedCheckpoints)}" "{count}</strong>
                "：" <span data-test="patrol-missed-names">{names}</span>
            </p>
            <p>{lang.text(Msg::WhyMissed)}</p>
            <div class="chips">
                {COMMON_REASONS.iter().map(|reason| {
                    let reason = *reason;
                    view! {
                        <button type="button" class="chip" data-test="patrol-missed-reason-choice"
                            aria-pressed=move || (chosen.get() == Some(reason)).to_string()
                            on:click=move |_| {
                                chosen.update(|c| *c = if *c == Some(reason) { None } else { Some(reason) });
                                error.set(None);
                            }>
                            {move || lang.t(reason)}
                        </button>
                    }
                }).collect_view()}
            </div>
            <input type="text" data-test="patrol-missed-reason" maxlength=MISSED_REASON_CHARS
                placeholder=lang.text(Msg::MissedReason)
                on:input=move |ev| { words.set(event_target_value(&ev)); error.set(None); }/>
            <div class="patrol-actions">
                <button class="primary" data-test="patrol-end-confirm" on:click=confirm>{lang.text(Msg::EndAnyway)}</button>
                <button data-test="patrol-keep-walking" on:click=move |_| on_keep_walking()>{lang.text(Msg::KeepWalking)}</button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
}
