//! Panels keep what a user needs in view (issue 16, item 1): on the 1080p command
//! screen and on the 1280×800 tablet, a case's panel scrolls its body while its close
//! button stays at the top and its actions (the note, the stage buttons, closing) stay
//! at the bottom, however long the case's timeline.

use crate::WAIT;
use linli_tests::{Browser, LinliServer};
use serde_json::{json, Value};
use std::time::Duration;

/// Whether each of `selectors` lies inside the visible part of the feature panel.
const IN_VIEW: &str = "const panel = document.querySelector('[data-test=feature-panel]').getBoundingClientRect(); \
     return arguments[0].map(s => { const e = document.querySelector(s); if (!e) return s + ': missing'; \
       const r = e.getBoundingClientRect(); \
       return r.top >= panel.top - 1 && r.bottom <= panel.bottom + 1 ? true : s + ': ' + r.top + '..' + r.bottom + ' outside ' + panel.top + '..' + panel.bottom; });";

#[tokio::test]
async fn a_long_case_keeps_its_close_button_and_actions_in_view() -> anyhow::Result<()> {
    let server = LinliServer::start_demo().await?;
    let commander = server.signed_in("demo-commander").await?;
    // A case with a long timeline: twenty notes.
    let case: Value = commander
        .post(server.url("/api/v1/cases"))
        .json(
            &json!({"title": "楼道堆物反复出现", "category": "environment", "source": "grid-visit",
                      "community": "xingfuli", "position": [117.2925, 31.8655],
                      "description": "三楼至五楼楼道堆放纸箱和旧家具，影响消防通道。"}),
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = case["id"].as_i64().unwrap();
    for n in 1..=20 {
        commander
            .post(server.url(&format!("/api/v1/cases/{id}/events")))
            .json(&json!({"action": "note", "note": format!("第{n}次回访：仍有纸箱堆放，已提醒住户清理")}))
            .send()
            .await?
            .error_for_status()?;
    }
    for (width, height, path, user) in [
        (1920, 1080, "/command", "demo-commander"),
        (1280, 800, "/field", "demo-grid-xingfuli"),
    ] {
        let browser = Browser::start(width, height, "zh-CN").await?;
        browser
            .goto(&server.url(&format!("/login?next={path}")))
            .await?;
        browser.sign_in(user, "demo").await?;
        browser.wait_for_path(path).await?;
        let tab = browser.find("[data-test=tab-cases]").await?;
        browser.click(&tab).await?;
        let row = browser
            .find(&format!(
                "[data-test=case-row][data-case-id='{id}'] .case-summary"
            ))
            .await?;
        browser.click(&row).await?;
        browser
            .wait_for(
                "the case's timeline",
                "const t = document.querySelector('[data-test=case-timeline]'); \
                 return t && t.children.length >= 21 ? true : null;",
                WAIT,
            )
            .await?;
        let description = browser.find("[data-test=case-description]").await?;
        assert!(browser.text(&description).await?.contains("消防通道"));
        let actions = json!([[
            "[data-test=feature-panel] .close",
            "[data-test=case-add-note]",
            "[data-test=case-close]",
            "[data-test=case-to-identified]"
        ]]);
        // At the top, and scrolled to the end of the timeline.
        for scroll in ["0", "1e6"] {
            browser
                .script(
                    &format!("document.querySelector('[data-test=feature-panel]').scrollTop = {scroll}; return true;"),
                    json!([]),
                )
                .await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let seen = browser.script(IN_VIEW, actions.clone()).await?;
            assert!(
                seen.as_array().unwrap().iter().all(|v| v == true),
                "{width}×{height}, scrolled to {scroll}: {seen}"
            );
        }
        browser
            .screenshot(&format!("case-panel-{width}x{height}"))
            .await?;
        if width == 1280 {
            // Touch targets on the tablet: every control a finger may need is at
            // least 44 px tall, a checkbox's box at least 22 px.
            let small = browser.script(SMALL_TARGETS, json!([])).await?;
            assert_eq!(small, json!([]), "controls under 44 px on the tablet");

            // Walking there: the navigation bar over the map does not cover the
            // card's close button.
            browser.set_position([117.2900, 31.8640]).await?;
            let close = browser.find("[data-test=feature-panel] .close").await?;
            browser.click(&close).await?;
            let navigate = browser
                .find(&format!(
                    "[data-test=case-row][data-case-id='{id}'] [data-test=navigate]"
                ))
                .await?;
            browser.click(&navigate).await?;
            browser.find("[data-test=navigation]").await?;
            let row = browser
                .find(&format!(
                    "[data-test=case-row][data-case-id='{id}'] .case-summary"
                ))
                .await?;
            browser.click(&row).await?;
            browser.find("[data-test=case-details]").await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let on_top = browser
                .script(
                    "const c = document.querySelector('[data-test=feature-panel] .close').getBoundingClientRect(); \
                     const e = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2); \
                     return e ? (e.closest('[data-test=feature-panel] .close') ? true : e.outerHTML.slice(0, 80)) : 'nothing';",
                    json!([]),
                )
                .await?;
            assert_eq!(
                on_top,
                json!(true),
                "the close button is covered by: {on_top}"
            );
            browser.screenshot("case-panel-navigating-1280x800").await?;
        }
    }
    Ok(())
}

/// The visible controls of the side panel and the case panel under 44 px tall (and
/// checkboxes under 22 px), described.
const SMALL_TARGETS: &str = "const small = [];      for (const e of document.querySelectorAll('.side-panel button, .side-panel select, .side-panel input,          .feature-panel button, .feature-panel select, .feature-panel input, label:has(> input[type=checkbox])')) {        if (e.classList.contains('visually-hidden')) continue;        const r = e.getBoundingClientRect();        if (r.width === 0 || r.height === 0) continue;        const least = e.type === 'checkbox' ? 22 : 43.5;        if (r.height < least) small.push((e.dataset.test || e.className || e.tagName) + ' ' + Math.round(r.height));      }      return small;";

#[tokio::test]
async fn an_alert_row_calls_the_resident_or_the_family_in_one_tap() -> anyhow::Result<()> {
    let server = LinliServer::start_demo().await?;
    let homes = server.homes("demo-grid-xingfuli").await?;
    let home = homes
        .iter()
        .find(|h| h["phone"].is_string() && h["contact"].is_string())
        .expect("a demo home with a phone and a contact");
    server.raise_gas_alarm(home["id"].as_str().unwrap()).await?;
    let browser = Browser::start(1280, 800, "zh-CN").await?;
    browser.goto(&server.url("/login?next=/field")).await?;
    browser.sign_in("demo-grid-xingfuli", "demo").await?;
    browser.wait_for_path("/field").await?;
    let calls = browser
        .wait_for(
            "the call links on the gas alert's row",
            "const row = document.querySelector('[data-test=alert-row][data-kind=gas]'); \
             const links = row ? [...row.querySelectorAll('[data-test=call-home]')] : []; \
             return links.length ? links.map(a => [a.textContent.trim(), a.getAttribute('href')]) : null;",
            WAIT,
        )
        .await?;
    let digits = |text: &str| -> String { text.chars().filter(char::is_ascii_digit).collect() };
    let phone = digits(home["phone"].as_str().unwrap());
    assert_eq!(calls[0][0], "致电住户", "{calls}");
    assert_eq!(calls[0][1], format!("tel:{phone}"), "{calls}");
    assert_eq!(calls[1][0], "致电家属", "{calls}");
    let contact = calls[1][1].as_str().unwrap();
    assert!(
        contact.starts_with("tel:")
            && digits(home["contact"].as_str().unwrap()).contains(&digits(contact)),
        "{calls} for {}",
        home["contact"]
    );
    Ok(())
}
