//! The parties who handle a case (联动处置): one responsible, any number cooperating.
//! The escalation form and the case panel's assignment both choose them here.

use crate::i18n::{names, tr, use_language, Msg};
use leptos::prelude::*;
use linli_domain::cases::Party;

/// A select for the responsible party (or none) and a checkbox per cooperating one;
/// the responsible party is not offered as cooperating too.
#[component]
pub fn PartiesPicker(
    responsible: RwSignal<Option<Party>>,
    cooperating: RwSignal<Vec<Party>>,
    /// `data-test` prefix: `<prefix>-responsible`, `<prefix>-cooperating-<party>`.
    test: &'static str,
) -> impl IntoView {
    let lang = use_language();
    let choose = move |ev| {
        let chosen = Party::parse(&event_target_value(&ev));
        responsible.set(chosen);
        cooperating.update(|c| c.retain(|p| Some(*p) != chosen));
    };
    view! {
        <label>{lang.text(Msg::Responsible)}
            <select data-test=format!("{test}-responsible") on:change=choose>
                <option value="" selected=move || responsible.get().is_none()>
                    {lang.text(Msg::NotAssigned)}
                </option>
                {Party::ALL.iter().map(|p| {
                    let p = *p;
                    view! {
                        <option value=p.as_str() selected=move || responsible.get() == Some(p)>
                            {move || names::party(lang.0.get(), p)}
                        </option>
                    }
                }).collect_view()}
            </select>
        </label>
        <fieldset class="cooperating">
            <legend>{lang.text(Msg::Cooperating)}</legend>
            {Party::ALL.iter().map(|p| {
                let p = *p;
                view! {
                    <label class="check" class:hidden=move || responsible.get() == Some(p)>
                        <input type="checkbox" data-test=format!("{test}-cooperating-{}", p.as_str())
                            prop:checked=move || cooperating.with(|c| c.contains(&p))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                cooperating.update(|c| {
                                    c.retain(|q| *q != p);
                                    if on { c.push(p) }
                                });
                            }/>
                        {move || names::party(lang.0.get(), p)}
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

/// "燃气公司（协办：物业、社区居委会）".
pub fn describe(
    lang: crate::i18n::Lang,
    responsible: Option<Party>,
    cooperating: &[Party],
) -> String {
    let mut text = responsible.map_or_else(
        || tr(lang, Msg::NotAssigned).to_string(),
        |p| names::party(lang, p).to_string(),
    );
    if !cooperating.is_empty() {
        let others: Vec<&str> = cooperating.iter().map(|p| names::party(lang, *p)).collect();
        let separator = if lang == crate::i18n::Lang::Zh {
            "、"
        } else {
            ", "
        };
        text.push_str(&format!(
            " ({}: {})",
            tr(lang, Msg::Cooperating),
            others.join(separator)
        ));
    }
    text
}
