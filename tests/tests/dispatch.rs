//! Dispatch end to end (journey 4's sending): the commander sends the nearest free
//! patrol unit to a gas alarm from its row on the command screen; the grid worker
//! walking with the unit finds the task on the tablet with the way there, accepts it,
//! arrives and finishes; the command screen follows each state live.

use linli_tests::{Browser, LinliServer};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_command_screen_sends_a_unit_and_follows_it_to_the_door() -> anyhow::Result<()> {
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

    let screen = Browser::start(1600, 1000, "zh-CN").await?;
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
    screen.screenshot("command-dispatch-arrived").await?;
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
    Ok(())
}
