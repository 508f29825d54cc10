//! Partner organisations and photos on cases, through the API: the gas utility's
//! account sees only the case assigned to it, adds a note and a photo and marks its
//! part done, and reaches for nothing else; photos come back as the server's own
//! JPEG without the upload's EXIF; every bad upload is refused and stores nothing.

use crate::support::*;
use linli_domain::alerts::Alert;
use linli_domain::cases::{Case, CaseCategory, CaseSummary, Party, PhotoKind};
use serde_json::{json, Value};

/// A JPEG as a phone writes it: with an EXIF segment holding a GPS marker.
fn phone_photo() -> Vec<u8> {
    let picture = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    }));
    let mut plain = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut plain, image::ImageFormat::Jpeg)
        .unwrap();
    let plain = plain.into_inner();
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\0\0GPS 31.8451N 117.3051E".to_vec();
    exif.splice(0..0, ((exif.len() + 2) as u16).to_be_bytes());
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(exif);
    out.extend(&plain[2..]);
    out
}

async fn upload(
    client: &reqwest::Client,
    app: &TestApp,
    case: i64,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/v1/cases/{case}/photos{query}")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn case_of(client: &reqwest::Client, app: &TestApp, id: i64) -> Case {
    get_json(client, app.url(&format!("/api/v1/cases/{id}"))).await
}

#[tokio::test]
async fn the_gas_utility_works_its_case_and_nothing_else() {
    let app = spawn_app().await;
    let (alert, _) = raise_gas_alert(&app, "wulimiao").await;
    let commander = app.signed_in("demo-commander").await;
    let escalated: Alert = commander
        .post(app.url(&format!("/api/v1/alerts/{alert}/escalate")))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case = escalated.case_id.expect("the case it opened");
    let partner = app.signed_in("demo-partner-utilities").await;

    // Only its case; nothing of homes, alerts, the map's data, the stream or the log.
    let cases: Vec<CaseSummary> = get_json(&partner, app.url("/api/v1/cases")).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].id, case);
    assert_eq!(cases[0].handling.responsible, Some(Party::Utilities));
    for path in [
        "/api/v1/homes".to_string(),
        "/api/v1/alerts".into(),
        format!("/api/v1/alerts/{alert}"),
        format!("/api/v1/alerts/{alert}/escalation"),
        "/api/v1/snapshot".into(),
        "/api/v1/stats".into(),
        "/api/v1/stream".into(),
        "/api/v1/events".into(),
        "/api/v1/patrols/units".into(),
        "/api/v1/notices".into(),
        "/api/v1/thresholds".into(),
    ] {
        let response = partner.get(app.url(&path)).send().await.unwrap();
        assert_error(response, 403, "forbidden").await;
    }
    for (path, body) in [
        (format!("/api/v1/alerts/{alert}/ack"), json!({})),
        (
            "/api/v1/cases".into(),
            json!({"title": "x", "category": "other", "source": "hotline",
                                         "community": "wulimiao", "position": [117.3, 31.8]}),
        ),
        (
            format!("/api/v1/cases/{case}/events"),
            json!({"action": "advance", "to": "identified"}),
        ),
        (
            format!("/api/v1/cases/{case}/events"),
            json!({"action": "close", "outcome": "solved"}),
        ),
        (
            format!("/api/v1/cases/{case}/events"),
            json!({"action": "assign", "responsible": "utilities"}),
        ),
        (
            format!("/api/v1/cases/{case}/events"),
            json!({"action": "part-done", "party": "police"}),
        ),
    ] {
        let response = partner
            .post(app.url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, "forbidden").await;
    }

    // A note, a photo from the phone, its part done.
    let noted = partner
        .post(app.url(&format!("/api/v1/cases/{case}/events")))
        .json(&json!({"action": "note", "note": "抢修车已出发"}))
        .send()
        .await
        .unwrap();
    assert_eq!(noted.status(), 200);
    let response = upload(
        &partner,
        &app,
        case,
        "?kind=after&note=已关阀",
        "image/jpeg",
        phone_photo(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let with_photo: Case = response.json().await.unwrap();
    let photo = &with_photo.photos[0];
    assert_eq!(photo.kind, PhotoKind::After);
    assert_eq!(photo.note, "已关阀");
    assert_eq!(photo.by, "user:demo-partner-utilities");
    assert_eq!((photo.width, photo.height), (640, 480));
    let photo = photo.id;
    for (size, side) in [("", 640), ("?size=thumb", 320)] {
        let response = partner
            .get(app.url(&format!("/api/v1/cases/{case}/photos/{photo}{size}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/jpeg");
        assert!(response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private"));
        let bytes = response.bytes().await.unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF served back");
        assert!(!bytes.windows(3).any(|w| w == b"GPS"), "GPS served back");
        let served = image::load_from_memory(&bytes).unwrap();
        assert_eq!(served.width(), side);
    }
    // In the log: the photo by whom, and the case as it then stood (what streams read).
    let events: Vec<Value> = get_json(&commander, app.url("/api/v1/events?limit=1000")).await;
    let added = events
        .iter()
        .find(|e| e["kind"] == "case.photo")
        .expect("a case.photo event");
    assert_eq!(added["actor"], "user:demo-partner-utilities");
    assert_eq!(added["data"]["photo"], photo);
    assert_eq!(added["data"]["community"], "wulimiao");
    let updated = events
        .iter()
        .rfind(|e| e["kind"] == "case.updated")
        .expect("a case.updated event");
    assert_eq!(updated["data"]["id"], case);
    assert_eq!(updated["data"]["responsible"], "utilities");
    let done = partner
        .post(app.url(&format!("/api/v1/cases/{case}/events")))
        .json(&json!({"action": "part-done", "party": "utilities", "note": "软管已更换"}))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let seen = case_of(&commander, &app, case).await;
    assert_eq!(seen.summary.handling.parties_done, [Party::Utilities]);
    let again = partner
        .post(app.url(&format!("/api/v1/cases/{case}/events")))
        .json(&json!({"action": "part-done", "party": "utilities"}))
        .send()
        .await
        .unwrap();
    assert_error(again, 409, "conflict").await;

    // Who may see the photo: the case's community and the office, not another's.
    let other = app.signed_in("demo-grid-xingfuli").await;
    let response = other
        .get(app.url(&format!("/api/v1/cases/{case}/photos/{photo}")))
        .send()
        .await
        .unwrap();
    assert_error(response, 403, "forbidden").await;
    let nobody = reqwest::get(app.url(&format!("/api/v1/cases/{case}/photos/{photo}")))
        .await
        .unwrap();
    assert_error(nobody, 401, "unauthorized").await;
    let public: Value = get_json(&reqwest::Client::new(), app.url("/api/v1/public/status")).await;
    assert!(
        !public.to_string().contains("photos/"),
        "a photo on the public page"
    );

    // Reassigned to the police alone: the case is no longer the utility's.
    let reassigned = commander
        .post(app.url(&format!("/api/v1/cases/{case}/events")))
        .json(&json!({"action": "assign", "responsible": "police"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reassigned.status(), 200);
    let after: Case = reassigned.json().await.unwrap();
    assert!(
        after.summary.handling.parties_done.is_empty(),
        "the utility's mark went with it"
    );
    let cases: Vec<CaseSummary> = get_json(&partner, app.url("/api/v1/cases")).await;
    assert!(cases.is_empty());
    for response in [
        partner
            .get(app.url(&format!("/api/v1/cases/{case}")))
            .send()
            .await
            .unwrap(),
        partner
            .post(app.url(&format!("/api/v1/cases/{case}/events")))
            .json(&json!({"action": "note", "note": "还在吗"}))
            .send()
            .await
            .unwrap(),
        upload(&partner, &app, case, "", "image/jpeg", phone_photo()).await,
        partner
            .get(app.url(&format!("/api/v1/cases/{case}/photos/{photo}")))
            .send()
            .await
            .unwrap(),
    ] {
        assert_error(response, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn a_bad_upload_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let report = case_report("井盖缺失", CaseCategory::Infrastructure, [117.305, 31.845]);
    let case = create_case(&grid, &app, &report).await.summary.id;
    let png = {
        let picture = image::DynamicImage::ImageRgb8(image::RgbImage::new(32, 32));
        let mut out = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let mut header_only = png.clone();
    header_only[16..24].copy_from_slice(&[0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20]);
    let cases = [
        (
            "",
            "text/plain",
            b"hello".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "",
            "application/octet-stream",
            png.clone(),
            415,
            "unsupported_media_type",
        ),
        (
            "",
            "image/png",
            b"hello, not a picture".to_vec(),
            422,
            "unprocessable",
        ),
        (
            "",
            "image/jpeg",
            png[..png.len() / 2].to_vec(),
            422,
            "unprocessable",
        ),
        ("", "image/png", header_only, 422, "unprocessable"),
        (
            "",
            "image/gif",
            b"GIF89a".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "",
            "image/jpeg",
            vec![0xFF; 10 * 1024 * 1024 + 1],
            413,
            "payload_too_large",
        ),
        (
            "?kind=sideways",
            "image/png",
            png.clone(),
            400,
            "bad_request",
        ),
        ("?size=9", "image/png", png.clone(), 400, "bad_request"),
        (
            &*format!("?note={}", "长".repeat(201)),
            "image/png",
            png.clone(),
            400,
            "bad_request",
        ),
    ];
    for (query, content_type, body, status, code) in cases {
        let response = upload(&grid, &app, case, query, content_type, body).await;
        let message = assert_error(response, status, code).await;
        assert!(!message.is_empty(), "{query} {content_type}");
    }
    assert!(case_of(&grid, &app, case).await.photos.is_empty());
    // Not a viewer's, not another community's, not of a case that does not exist.
    let viewer = app.signed_in("demo-viewer").await;
    assert_error(
        upload(&viewer, &app, case, "", "image/png", png.clone()).await,
        403,
        "forbidden",
    )
    .await;
    let other = app.signed_in("demo-grid-xingfuli").await;
    assert_error(
        upload(&other, &app, case, "", "image/png", png.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        upload(&grid, &app, 999_999, "", "image/png", png.clone()).await,
        404,
        "not_found",
    )
    .await;
    let missing = grid
        .get(app.url(&format!("/api/v1/cases/{case}/photos/999999")))
        .send()
        .await
        .unwrap();
    assert_error(missing, 404, "not_found").await;
    // A PNG is taken (kept as JPEG), then not on a closed case.
    assert_eq!(
        upload(&grid, &app, case, "", "image/png", png.clone())
            .await
            .status(),
        201
    );
    let closed = grid
        .post(app.url(&format!("/api/v1/cases/{case}/events")))
        .json(&json!({"action": "close", "outcome": "not-solvable", "note": "无法处理"}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    assert_error(
        upload(&grid, &app, case, "", "image/png", png).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(case_of(&grid, &app, case).await.photos.len(), 1);
}
