//! The morning check-in (晨安) button on an elder's home: the grid worker saw the elder
//! today. It goes through the outbox, with the time it was pressed, so a check-in made
//! in a stairwell with no signal still counts for that morning.

use crate::i18n::{use_language, Msg};
use crate::live::use_live;
use crate::outbox::{last_delivery, sending_action, use_outbox, Delivery, DeliveryNote, Pending};
use crate::session::use_session;
use leptos::prelude::*;
use linli_domain::care::NewCheckIn;
use linli_domain::Role;
use linli_domain::Timestamp;

#[component]
pub fn CheckInButton(home: String) -> impl IntoView {
    let lang = use_language();
    let can_act = use_session().user().is_some_and(|u| u.role != Role::Viewer);
    let (Some(live), true) = (use_live(), can_act) else {
        return ().into_any();
    };
    let send = sending_action(use_outbox(), Some(live));
    let delivery = move || last_delivery(send, lang);
    let check_in = move |_| {
        let at = Timestamp::from_millis(js_sys::Date::now() as i64);
        let pending = Pending::new(
            format!("{} {home}", lang.t(Msg::RecordCheckIn)),
            format!("/api/v1/homes/{home}/check-ins"),
            &NewCheckIn {
                at: Some(at),
                note: String::new(),
            },
            None,
        );
        send.dispatch(pending);
    };
    view! {
        <div class="check-in">
            <button class="primary" data-test="check-in" on:click=check_in
                disabled=move || send.pending().get() || delivery() == Some(Delivery::Done)>
                {lang.text(Msg::RecordCheckIn)}
            </button>
            {move || match delivery() {
                Some(Delivery::Done) => Some(view! { <p data-test="checked-in">{lang.text(Msg::CheckedIn)}</p> }.into_any()),
                Some(other) => Some(view! { <DeliveryNote delivery=other/> }.into_any()),
                None => None,
            }}
        </div>
    }
    .into_any()
}
