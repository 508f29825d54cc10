//! Open311 GeoReport v2: the services and requests answer with exactly the spec's
//! fields, filter as the spec says, refuse bad parameters, and reveal nothing personal:
//! no resident's name, phone or contact (the case below carries a name in its text),
//! and for cases that concern a home, a position on a 0.005° grid instead of the home's.

mod support;

use linli_domain::geometry::metres_between;
use serde_json::{json, Value};
use support::*;

const SERVICE_FIELDS: [&str; 7] = [
    "description",
    "group",
    "keywords",
    "metadata",
    "service_code",
    "service_name",
    "type",
];
const REQUEST_FIELDS: [&str; 17] = [
    "address",
    "address_id",
    "agency_responsible",
    "description",
    "expected_datetime",
    "lat",
    "long",
    "media_url",
    "requested_datetime",
    "service_code",
    "service_name",
    "service_notice",
    "service_request_id",
    "status",
    "status_notes",
    "updated_datetime",
    "zipcode",
];

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn open311_serves_public_safe_georeport_v2() {
    let app = spawn_app().await;
    let public = reqwest::Client::new();
    let services: Vec<Value> = get_json(&public, app.url("/open311/v2/services.json")).await;
    assert_eq!(services.len(), 7);
    for service in &services {
        assert_eq!(keys(service), SERVICE_FIELDS, "{service}");
        assert_eq!(service["type"], "realtime");
    }

    // A case about a home, with a resident's name in its title and description.
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let commander = app.signed_in("demo-commander").await;
    let homes: Vec<Value> = get_json(&commander, app.url("/api/v1/homes")).await;
    let home = homes.iter().find(|h| h["community"] == "wulimiao").unwrap();
    let resident = home["resident"].as_str().unwrap();
    let created = grid
        .post(app.url("/api/v1/cases"))
        .json(&json!({"title": format!("{resident}家中无人应门"), "description": format!("{resident}, room {}", home["room"]),
                      "category": "elder-care", "source": "grid-visit", "community": "wulimiao",
                      "position": home["position"], "building": home["building"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"].to_string();

    let response = public
        .get(app.url("/open311/v2/requests.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let requests: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(requests.len() > 10, "the demo's cases and ours");
    for request in &requests {
        assert_eq!(keys(request), REQUEST_FIELDS, "{request}");
        assert!(["open", "closed"].contains(&request["status"].as_str().unwrap()));
    }
    // Nothing personal anywhere in the answer.
    for home in &homes {
        for field in ["resident", "phone", "contact"] {
            if let Some(value) = home[field].as_str().filter(|v| v.chars().count() > 1) {
                assert!(!text.contains(value), "{field} `{value}` in Open311");
            }
        }
    }
    let ours = requests
        .iter()
        .find(|r| r["service_request_id"] == id.as_str())
        .unwrap();
    assert_eq!(ours["service_code"], "elder-care");
    assert_eq!(ours["address"], "五里庙");
    let position = [
        ours["long"].as_f64().unwrap(),
        ours["lat"].as_f64().unwrap(),
    ];
    let exact = [
        home["position"][0].as_f64().unwrap(),
        home["position"][1].as_f64().unwrap(),
    ];
    assert!(
        metres_between(position, exact) > 1.0,
        "a home's case is not shown at the home"
    );
    // On a grid of 0.005°: nothing finer than that is left.
    for v in position {
        let steps = v / 0.005;
        assert!((steps - steps.round()).abs() < 1e-6, "{v} is not rounded");
    }

    // Filters, and bad parameters.
    let elder: Vec<Value> = get_json(
        &public,
        app.url("/open311/v2/requests.json?service_code=elder-care&status=open"),
    )
    .await;
    assert!(elder
        .iter()
        .all(|r| r["service_code"] == "elder-care" && r["status"] == "open"));
    assert!(elder.iter().any(|r| r["service_request_id"] == id.as_str()));
    let future: Vec<Value> = get_json(
        &public,
        app.url("/open311/v2/requests.json?start_date=2099-01-01T00:00:00Z"),
    )
    .await;
    assert!(future.is_empty());
    for query in [
        "service_code=noise",
        "status=pending",
        "start_date=yesterday",
        "colour=red",
    ] {
        let response = public
            .get(app.url(&format!("/open311/v2/requests.json?{query}")))
            .send()
            .await
            .unwrap();
        assert_error(response, 400, "bad_request").await;
    }
}
