//! Open311 GeoReport v2: the services and requests answer with exactly the spec's
//! fields, filter as the spec says, refuse bad parameters, and reveal nothing personal:
//! no resident's name, phone or contact (the case below carries a name in its text),
//! for every case tied to a home (about one, or at or near one, whatever its category)
//! the centre of its cell of the public map's 0.005° grid instead of the home's
//! position, and nothing at all of the cases about homes of a community with fewer
//! than 5 monitored homes.

use crate::support::*;
use linli_domain::geometry::metres_between;
use serde_json::{json, Value};

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

/// The centres of the public map's 0.005° cells: nothing finer than that is left.
fn assert_at_a_cell_centre(position: [f64; 2]) {
    for v in position {
        let steps = v / 0.005 - 0.5;
        assert!(
            (steps - steps.round()).abs() < 1e-6,
            "{v} is not a cell's centre"
        );
    }
}

fn position_of(request: &Value) -> [f64; 2] {
    [
        request["long"].as_f64().unwrap(),
        request["lat"].as_f64().unwrap(),
    ]
}

/// Issue 14: a case of any category placed at a home was shown at the home; cases
/// about the homes of a community of fewer than 5 were published.
#[tokio::test]
async fn open311_follows_the_privacy_rule_of_the_public_page() {
    use linli_server::store::{Actor, Change, Community};
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let homes: Vec<Value> = get_json(&commander, app.url("/api/v1/homes")).await;
    let home = &homes[0];
    let create = |body: Value| {
        let commander = &commander;
        let url = app.url("/api/v1/cases");
        async move {
            let response = commander.post(url).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 201, "{body}");
            response.json::<Value>().await.unwrap()["id"].to_string()
        }
    };
    // A dispute at a home's own position, and a street-order case at its building.
    let at_home = create(
        json!({"title": "楼上漏水", "category": "dispute", "source": "resident-report",
        "community": home["community"], "position": home["position"]}),
    )
    .await;
    let at_building = create(json!({"title": "楼道堆物", "category": "street-order", "source": "grid-visit",
        "community": home["community"], "position": [home["position"][0].as_f64().unwrap() + 0.0004, home["position"][1]],
        "building": home["building"]}))
    .await;

    // A community with two monitored homes, an elder-care case there and a pothole
    // far from any home.
    let change = Change::new(Actor::System("test"), linli_server::clock::now_ms());
    let small = linli_domain::CommunityId::parse("xiaocun").unwrap();
    let ring = vec![
        [117.40, 31.90],
        [117.41, 31.90],
        [117.41, 31.91],
        [117.40, 31.91],
        [117.40, 31.90],
    ];
    app.store
        .save_communities(
            &change,
            &[Community {
                id: small.clone(),
                name: "小村".into(),
                name_en: "Xiaocun".into(),
                geometry: linli_domain::place::Geometry::Polygon(vec![ring]),
            }],
        )
        .await
        .unwrap();
    let mut stored = app.store.homes(None).await.unwrap()[0].clone();
    for n in 0..2 {
        stored.id = format!("xc-{n}");
        stored.community = small.clone();
        stored.position = [117.405, 31.905];
        stored.sensors.clear();
        app.store
            .save_homes(&change, &[stored.clone()])
            .await
            .unwrap();
    }
    let hidden = create(
        json!({"title": "独居老人需要帮助", "category": "elder-care", "source": "grid-visit",
        "community": "xiaocun", "position": [117.405, 31.905]}),
    )
    .await;
    let pothole = create(
        json!({"title": "路面坑洞", "category": "infrastructure", "source": "grid-visit",
        "community": "xiaocun", "position": [117.4095, 31.9095]}),
    )
    .await;

    let requests: Vec<Value> = get_json(
        &reqwest::Client::new(),
        app.url("/open311/v2/requests.json"),
    )
    .await;
    let find = |id: &str| requests.iter().find(|r| r["service_request_id"] == id);
    for id in [&at_home, &at_building] {
        let request = find(id).expect("published");
        assert_at_a_cell_centre(position_of(request));
    }
    assert!(
        find(&hidden).is_none(),
        "an elder-care case of a community of 2 homes"
    );
    let pothole = find(&pothole).expect("a case about no home is published");
    assert_eq!(position_of(pothole), [117.4095, 31.9095], "and where it is");
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
    assert_at_a_cell_centre(position);

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

/// Imported GeoJSON may carry any property; the public layers send only the
/// allow-listed ones (names, community, what a building is).
#[tokio::test]
async fn imported_properties_reach_readers_only_from_an_allow_list() {
    use linli_domain::place::{Feature, Geometry, LayerName};
    use linli_server::store::{Actor, Change};
    let app = spawn_app().await;
    let ring = vec![
        [117.30, 31.84],
        [117.3001, 31.84],
        [117.3001, 31.8401],
        [117.30, 31.8401],
        [117.30, 31.84],
    ];
    let properties = json!({"id": "way/7", "name": "幸福楼", "building": "residential",
        "building:levels": 6, "resident": "王秀英", "phone": "13812345678",
        "addr:unit": "2-302", "note": "独居老人"});
    let feature = Feature {
        id: "way/7".into(),
        geometry: Geometry::Polygon(vec![ring]),
        properties: properties.as_object().unwrap().clone(),
    };
    app.store
        .save_features(
            &Change::new(Actor::System("test"), linli_server::clock::now_ms()),
            LayerName::Buildings,
            &[feature],
            false,
        )
        .await
        .unwrap();
    let text = reqwest::get(app.url("/api/v1/layers/buildings"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let layer: Value = serde_json::from_str(&text).unwrap();
    let ours = layer["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "way/7")
        .unwrap();
    assert_eq!(
        keys(&ours["properties"]),
        ["building", "building:levels", "id", "name"]
    );
    for secret in ["王秀英", "13812345678", "2-302", "独居老人"] {
        assert!(!text.contains(secret), "{secret} in the public layer");
    }
}
