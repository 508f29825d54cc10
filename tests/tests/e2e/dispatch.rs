//! Journey 2, gas at night, from the command screen: a gas alarm comes up (banner,
//! row); the duty officer sends the nearest free patrol unit from its row; the grid
//! worker walking with the unit finds the task on the tablet with the way there,
//! accepts it, arrives and finishes, the command screen following each state live;
//! the officer escalates the alarm into a case for the community committee with the
//! gas utility cooperating, takes the case through handling to closed "solved", and
//! the alarm resolves with it. Screenshots in `target/e2e/journeys/2-*.png`. (The
//! alarm arriving over MQTT through Mosquitto is `alerts.rs`; the gas utility's part
//! on its phone is `notify.rs`.)

use crate::WAIT;
use linli_tests::{Browser, LinliServer};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn journey_2_a_gas_alarm_gets_a_unit_to_the_door_and_a_case_through_to_solved(
) -> anyhow::Result<()> {
    let server = LinliServer::start_demo().await?;
    let commander = server.signed_in("demo-commander").await?;
    // A community with its own route; its grid worker sets out with team-7.
    let routes: Value = commander
        .get(server.url("/api/v1/patrols/routes"))
        .send()
        .await?
        .json()
        .await?;
    let route = routes["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"].clone())
        .find(|r| r["community"].is_string())
        .expect("a community's route");
    let community = route["community"].as_str().unwrap().to_string();
    let worker = server.signed_in(&format!("demo-grid-{community}")).await?;
    let started = worker
        .post(server.url("/api/v1/patrols/units/team-7/run"))
        .json(&json!({"route": route["id"]}))
        .send()
        .await?;
    assert_eq!(started.status(), 201);
    let homes = server.homes("demo-commander").await?;
    let home = homes
        .iter()
        .find(|h| h["community"] == community.as_str())
        .expect("a home in the community");
    let position = home["position"].clone();
    let moved = worker
        .post(server.url("/api/v1/patrols/units/team-7/position"))
        .json(&json!({"position": position}))
        .send()
        .await?;
    assert_eq!(moved.status(), 200);

    let screen = Browser::start(1920, 1080, "zh-CN").await?;
    screen.goto(&server.url("/command")).await?;
    screen.wait_for_path("/login").await?;
    screen.sign_in("demo-commander", "demo").await?;
    screen.wait_for_path("/command").await?;
    let tablet = Browser::start(1280, 800, "zh-CN").await?;
    tablet.goto(&server.url("/field")).await?;
    tablet.wait_for_path("/login").await?;
    tablet
        .sign_in(&format!("demo-grid-{community}"), "demo")
        .await?;
    tablet.wait_for_path("/field").await?;
    for browser in [&screen, &tablet] {
        browser
            .wait_for(
                "the live stream",
                "const b = document.querySelector('[data-test=live-badge]'); return b && b.classList.contains('live') ? true : null;",
                WAIT,
            )
            .await?;
    }

    server.raise_gas_alarm(home["id"].as_str().unwrap()).await?;
    let alert = screen
        .wait_for(
            "the gas alarm on the command screen",
            "const r = document.querySelector('[data-test=alert-row][data-kind=gas]'); return r ? r.getAttribute('data-alert-id') : null;",
            WAIT,
        )
        .await?;
    let alert = alert.as_str().unwrap().to_string();
    let row = format!("[data-alert-id='{alert}']");
    screen.find("[data-test=critical-banner]").await?;
    screen.screenshot("journeys/2-1-gas-alarm").await?;
    let send = screen.find(&format!("{row} [data-test=dispatch]")).await?;
    screen.click(&send).await?;
    // The nearest free unit is offered first.
    let offered = screen
        .wait_for(
            "the nearest free unit offered",
            "const i = document.querySelector('[data-test=dispatch-assignee]'); return i && i.value ? i.value : null;",
            WAIT,
        )
        .await?;
    assert_eq!(offered, "unit:team-7");
    let note = screen.find("[data-test=dispatch-note]").await?;
    screen.type_into(&note, "先关总阀").await?;
    let confirm = screen.find("[data-test=confirm-dispatch]").await?;
    screen.click(&confirm).await?;
    let state = |s: &str| {
        format!(
            "const t = document.querySelector(\"{row} [data-test=task-state]\"); \
             return t && t.getAttribute('data-state') === '{s}' ? t.textContent : null;"
        )
    };
    let shown = screen
        .wait_for("the task on the alert", &state("sent"), WAIT)
        .await?;
    assert!(shown.as_str().unwrap().contains("unit:team-7"), "{shown}");

    // The tablet: the task, with the way there; accepted, reached.
    let tab = tablet.find("[data-test=tab-tasks]").await?;
    tablet.click(&tab).await?;
    let found = tablet
        .wait_for(
            "the task on the tablet",
            "const r = document.querySelector('[data-test=task-row]'); return r && r.textContent.includes('燃气泄漏') && r.querySelector('[data-test=navigate]') ? true : null;",
            WAIT,
        )
        .await;
    if found.is_err() {
        tablet.screenshot("field-task-missing").await?;
        let panel = tablet
            .script("const p = document.querySelector('[data-test=side-panel]'); return p && p.innerHTML;", json!([]))
            .await?;
        eprintln!("the tablet's panel: {panel}");
    }
    found?;
    for (action, after) in [("accept", "accepted"), ("arrive", "arrived")] {
        let button = tablet.find(&format!("[data-test=task-{action}]")).await?;
        tablet.click(&button).await?;
        tablet
            .wait_for(
                "the task's new state on the tablet",
                &format!("return document.querySelector(\"[data-test=task-row][data-state='{after}']\") ? true : null;"),
                WAIT,
            )
            .await?;
        screen
            .wait_for("the state on the command screen", &state(after), WAIT)
            .await?;
    }
    screen.screenshot("journeys/2-2-unit-arrived").await?;
    let done = tablet.find("[data-test=task-done]").await?;
    tablet.click(&done).await?;
    tablet
        .wait_for(
            "the finished task leaving the tablet's list",
            "return document.querySelector('[data-test=task-row]') ? null : true;",
            WAIT,
        )
        .await?;
    let tasks: Vec<Value> = commander
        .get(server.url("/api/v1/dispatches?open=false"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(tasks[0]["state"], "done");
    assert_eq!(tasks[0]["note"], "先关总阀");
    assert_eq!(tasks[0]["events"].as_array().unwrap().len(), 3);

    // Escalated into a case: the community committee responsible, the gas utility
    // cooperating.
    let alert_id: i64 = alert.parse()?;
    screen
        .click(&screen.find(&format!("{row} [data-test=escalate]")).await?)
        .await?;
    screen
        .wait_for(
            "the escalation form with its draft",
            "const t = document.querySelector('[data-test=escalate-title]'); return t && t.value ? t.value : null;",
            WAIT,
        )
        .await?;
    screen
        .choose("[data-test=escalate-responsible]", "community-committee")
        .await?;
    screen
        .click(
            &screen
                .find("[data-test=escalate-cooperating-utilities]")
                .await?,
        )
        .await?;
    let note = screen.find("[data-test=escalate-note]").await?;
    screen.type_into(&note, "已关总阀，请燃气公司检修").await?;
    screen.screenshot("journeys/2-3-escalating").await?;
    screen
        .click(&screen.find("[data-test=confirm-escalate]").await?)
        .await?;
    let mut escalated = Value::Null;
    for _ in 0..100 {
        escalated = commander
            .get(server.url(&format!("/api/v1/alerts/{alert_id}")))
            .send()
            .await?
            .json()
            .await?;
        if escalated["case_id"].is_i64() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let case_id = escalated["case_id"].as_i64().expect("a case opened");
    let case: Value = commander
        .get(server.url(&format!("/api/v1/cases/{case_id}")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(case["responsible"], "community-committee", "{case}");
    // The draft's property management stays beside the gas utility.
    assert!(
        case["cooperating"]
            .as_array()
            .unwrap()
            .contains(&json!("utilities")),
        "{case}"
    );

    // Through handling to closed "solved": the alarm resolves with its case.
    screen
        .click(&screen.find("[data-test=tab-cases]").await?)
        .await?;
    screen
        .click(
            &screen
                .find(&format!(
                    "[data-test=case-row][data-case-id='{case_id}'] button"
                ))
                .await?,
        )
        .await?;
    let at_stage = |stage: &str| {
        format!(
            "const s = document.querySelector('[data-test=case-stage]');              return s && s.getAttribute('data-stage') === '{stage}' ? true : null"
        )
    };
    screen
        .wait_for("the case panel", &at_stage("reported"), WAIT)
        .await?;
    for (button, stage) in [
        ("case-to-identified", "identified"),
        ("case-to-joint-handling", "joint-handling"),
    ] {
        screen
            .click(&screen.find(&format!("[data-test={button}]")).await?)
            .await?;
        screen.wait_for(stage, &at_stage(stage), WAIT).await?;
    }
    screen
        .click(&screen.find("[data-test=case-close]").await?)
        .await?;
    screen.wait_for("closed", &at_stage("closed"), WAIT).await?;
    let mut resolved = Value::Null;
    for _ in 0..100 {
        resolved = commander
            .get(server.url(&format!("/api/v1/alerts/{alert_id}")))
            .send()
            .await?
            .json()
            .await?;
        if resolved["state"] == "resolved" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(resolved["resolved"]["outcome"], "handled", "{resolved}");
    let case: Value = commander
        .get(server.url(&format!("/api/v1/cases/{case_id}")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(case["outcome"], "solved");
    // Nothing left to alarm about: the banner goes with the alarm.
    screen
        .wait_for(
            "the banner to go with the resolved alarm",
            "return document.querySelector('[data-test=critical-banner]') ? null : true",
            WAIT,
        )
        .await?;
    screen.screenshot("journeys/2-4-closed").await?;
    Ok(())
}
