//! What each kind of channel is sent, byte for byte: the request for a message (the
//! robot's own format, signed as it requires) and how to tell from its answer that it
//! took it. Pure functions of the message, the channel and the time, so that tests
//! check them against the robots' documented algorithms.
//!
//! - WeCom group robot: `{"msgtype": "markdown", "markdown": {"content": …}}`, the
//!   person mentioned as `<@userid>`; answer `{"errcode": 0}`.
//! - DingTalk group robot: `{"msgtype": "markdown", "markdown": {"title", "text"},
//!   "at": {"atMobiles", "atUserIds"}}`; with a secret, `&timestamp=MS&sign=S` on the
//!   URL, where S = url-encoded base64 of HMAC-SHA256(key = secret, "MS\nsecret");
//!   answer `{"errcode": 0}`.
//! - Feishu group robot: `{"msg_type": "text", "content": {"text"}}`, the person as
//!   `<at user_id="…">`; with a secret, `"timestamp": "S"` (seconds) and `"sign"` =
//!   base64 of HMAC-SHA256(key = "S\nsecret", empty message); answer `{"code": 0}`.
//! - Webhook and SMS gateway: Linli's own JSON (see [`webhook_body`], [`sms_body`]);
//!   with a secret, `X-Linli-Timestamp: MS` and `X-Linli-Signature: sha256=HEX`, HEX
//!   being HMAC-SHA256(key = secret, "MS." + body); any 2xx answer.
//!
//! Every request carries `X-Linli-Delivery: ID`, the same on every retry, so that a
//! receiver can drop a repeat.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use linli_domain::notify::{ChannelKind, OnDuty};
use serde_json::{json, Value};
use sha2::Sha256;

/// A message about an alert, in the office's words (Chinese); kept in the outbox as
/// JSON, its `delivery` id given when it is sent.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    #[serde(skip)]
    pub delivery: i64,
    /// One line: what, where, how bad, e.g. `【紧急】燃气报警 · 五里庙社区 3栋2单元302`.
    pub headline: String,
    /// The lines under it: what the sensor saw, when, who is called and why.
    pub lines: Vec<String>,
    /// The alert on the tablet (sign-in first).
    pub link: String,
    /// For Linli's own JSON: the alert as the API shows it, and the chain's level.
    pub alert: Value,
    pub level: u32,
    pub level_title: String,
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// DingTalk's signature of a request sent at `timestamp_ms`, url-encoded.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let to_sign = format!("{timestamp_ms}\n{secret}");
    url_encode(&base64(&hmac_sha256(secret.as_bytes(), to_sign.as_bytes())))
}

/// Feishu's signature of a request sent at `timestamp_s` (seconds).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    base64(&hmac_sha256(key.as_bytes(), b""))
}

/// Linli's own signature of a webhook or SMS body sent at `timestamp_ms`.
pub fn linli_signature(secret: &str, timestamp_ms: i64, body: &str) -> String {
    let digest = hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}.{body}").as_bytes(),
    );
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The whole text of a message, for kinds that take plain text.
fn plain_text(message: &Message, mention: Option<String>) -> String {
    let mut text = message.headline.clone();
    for line in &message.lines {
        text.push('\n');
        text.push_str(line);
    }
    if let Some(mention) = mention {
        text.push('\n');
        text.push_str(&mention);
    }
    text.push_str("\n处置: ");
    text.push_str(&message.link);
    text
}

/// Linli's webhook body: `{"delivery", "level", "level_title", "person", "text",
/// "link", "alert"}`.
pub fn webhook_body(message: &Message, person: Option<&OnDuty>) -> Value {
    json!({
        "delivery": message.delivery,
        "level": message.level,
        "level_title": message.level_title,
        "person": person,
        "text": plain_text(message, None),
        "link": message.link,
        "alert": message.alert,
    })
}

/// Linli's SMS gateway body: `{"delivery", "phone", "text"}`.
pub fn sms_body(message: &Message, phone: &str) -> Value {
    json!({"delivery": message.delivery, "phone": phone, "text": plain_text(message, None)})
}

/// Why a message cannot go by a channel at all (not worth retrying).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsendable(pub String);

/// The request that sends `message` by a channel of `kind` at `url`, mentioning
/// `person` where the kind can, at `now_ms`.
pub fn request(
    kind: ChannelKind,
    url: &str,
    secret: Option<&str>,
    message: &Message,
    person: Option<&OnDuty>,
    now_ms: i64,
) -> Result<Outgoing, Unsendable> {
    let mut headers = vec![("x-linli-delivery", message.delivery.to_string())];
    let mut url = url.to_string();
    let body = match kind {
        ChannelKind::Wecom => {
            let mut content = format!("**{}**", message.headline);
            for line in &message.lines {
                content.push_str(&format!("\n> {line}"));
            }
            if let Some(id) = person.and_then(|p| p.wecom.as_deref()) {
                content.push_str(&format!("\n<@{id}>"));
            }
            content.push_str(&format!("\n[处置]({})", message.link));
            json!({"msgtype": "markdown", "markdown": {"content": content}})
        }
        ChannelKind::Dingtalk => {
            let mobiles: Vec<&str> = person
                .and_then(|p| p.phone.as_deref())
                .into_iter()
                .collect();
            let users: Vec<&str> = person
                .and_then(|p| p.dingtalk.as_deref())
                .into_iter()
                .collect();
            let mut text = format!("### {}", message.headline);
            for line in &message.lines {
                text.push_str(&format!("\n\n{line}"));
            }
            // DingTalk rings a mentioned person only when the text names them too.
            for mention in mobiles.iter().chain(&users) {
                text.push_str(&format!(" @{mention}"));
            }
            text.push_str(&format!("\n\n[处置]({})", message.link));
            if let Some(secret) = secret {
                let separator = if url.contains('?') { '&' } else { '?' };
                url = format!(
                    "{url}{separator}timestamp={now_ms}&sign={}",
                    dingtalk_sign(secret, now_ms)
                );
            }
            json!({
                "msgtype": "markdown",
                "markdown": {"title": message.headline, "text": text},
                "at": {"atMobiles": mobiles, "atUserIds": users, "isAtAll": false},
            })
        }
        ChannelKind::Feishu => {
            let mention = person
                .and_then(|p| Some((p.feishu.as_deref()?, p.name.as_str())))
                .map(|(id, name)| format!("<at user_id=\"{id}\">{name}</at>"));
            let mut body =
                json!({"msg_type": "text", "content": {"text": plain_text(message, mention)}});
            if let Some(secret) = secret {
                let seconds = now_ms / 1000;
                body["timestamp"] = json!(seconds.to_string());
                body["sign"] = json!(feishu_sign(secret, seconds));
            }
            body
        }
        ChannelKind::Webhook => webhook_body(message, person),
        ChannelKind::Sms => {
            let phone = person.and_then(|p| p.phone.as_deref()).ok_or_else(|| {
                Unsendable("nobody with a phone number is on duty at this level".into())
            })?;
            sms_body(message, phone)
        }
    };
    let body = body.to_string();
    if matches!(kind, ChannelKind::Webhook | ChannelKind::Sms) {
        if let Some(secret) = secret {
            headers.push(("x-linli-timestamp", now_ms.to_string()));
            headers.push(("x-linli-signature", linli_signature(secret, now_ms, &body)));
        }
    }
    Ok(Outgoing { url, headers, body })
}

/// Robots' answers that mean "too many messages now, later": worth trying again
/// (WeCom 45009, DingTalk 130101, Feishu 9499 and 11232). Their other error codes (a
/// wrong key, signature or keyword) will not change by waiting.
const RATE_LIMITED: [i64; 4] = [45009, 130101, 9499, 11232];

/// Why a receiver did not take a message, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotTaken {
    pub why: String,
    pub retry: bool,
}

/// Whether the receiver took the message, from its answer: the receiver's trouble
/// (5xx, 429, a robot's rate limit) is worth another try, the request's (another 4xx,
/// a robot's other error codes) is not.
pub fn accepted(kind: ChannelKind, status: u16, body: &[u8]) -> Result<(), NotTaken> {
    let snippet = || String::from_utf8_lossy(&body[..body.len().min(200)]).to_string();
    if !(200..300).contains(&status) {
        return Err(NotTaken {
            why: format!("HTTP {status}: {}", snippet()),
            retry: status >= 500 || status == 429,
        });
    }
    let code_field = match kind {
        ChannelKind::Wecom | ChannelKind::Dingtalk => "errcode",
        ChannelKind::Feishu => "code",
        ChannelKind::Webhook | ChannelKind::Sms => return Ok(()),
    };
    let answer: Value = serde_json::from_slice(body).map_err(|_| NotTaken {
        why: format!("the robot's answer is not JSON: {}", snippet()),
        retry: true,
    })?;
    let code = answer[code_field]
        .as_i64()
        // Feishu's older answers say StatusCode.
        .or_else(|| answer["StatusCode"].as_i64());
    match code {
        Some(0) => Ok(()),
        code => Err(NotTaken {
            why: format!("the robot refused it: {}", snippet()),
            retry: code.is_some_and(|c| RATE_LIMITED.contains(&c)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            delivery: 7,
            headline: "【紧急】燃气报警 · 五里庙社区 3栋2单元302".into(),
            lines: vec!["燃气浓度 45% LEL（02:13）".into()],
            link: "https://linli.example/field?alert=12".into(),
            alert: json!({"id": 12}),
            level: 1,
            level_title: "网格员".into(),
        }
    }

    fn person() -> OnDuty {
        OnDuty {
            name: "王芳".into(),
            phone: Some("13800000001".into()),
            wecom: Some("wangfang".into()),
            dingtalk: Some("ding-wf".into()),
            feishu: Some("ou_wf".into()),
        }
    }

    #[test]
    fn signatures_follow_the_robots_documented_algorithms() {
        // Computed independently (Python: hmac, hashlib, base64, urllib.parse.quote_plus).
        assert_eq!(
            dingtalk_sign("SEC000", 1_700_000_000_000),
            "ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA%3D"
        );
        assert_eq!(
            feishu_sign("fs-secret", 1_700_000_000),
            "ognpFOmraex6LA29Ao14dsiNmmjE3YO4x5e/SX8n9Bw="
        );
        assert_eq!(
            linli_signature("k", 1, "{}"),
            "sha256=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"
        );
    }

    #[test]
    fn each_kind_gets_its_own_format_and_mentions() {
        let (m, p) = (message(), person());
        let wecom = request(
            ChannelKind::Wecom,
            "https://w/send?key=K",
            None,
            &m,
            Some(&p),
            0,
        )
        .unwrap();
        let body: Value = serde_json::from_str(&wecom.body).unwrap();
        assert_eq!(body["msgtype"], "markdown");
        let content = body["markdown"]["content"].as_str().unwrap();
        assert!(
            content.contains("<@wangfang>") && content.contains("燃气报警"),
            "{content}"
        );
        assert!(content.contains("https://linli.example/field?alert=12"));
        assert_eq!(wecom.url, "https://w/send?key=K");

        let ding = request(
            ChannelKind::Dingtalk,
            "https://d/robot/send?access_token=T",
            Some("SEC000"),
            &m,
            Some(&p),
            1_700_000_000_000,
        )
        .unwrap();
        assert_eq!(
            ding.url,
            format!(
                "https://d/robot/send?access_token=T&timestamp=1700000000000&sign={}",
                dingtalk_sign("SEC000", 1_700_000_000_000)
            )
        );
        let body: Value = serde_json::from_str(&ding.body).unwrap();
        assert_eq!(body["at"]["atMobiles"][0], "13800000001");
        assert!(body["markdown"]["text"]
            .as_str()
            .unwrap()
            .contains("@13800000001"));

        let feishu = request(
            ChannelKind::Feishu,
            "https://f/hook/x",
            Some("fs-secret"),
            &m,
            Some(&p),
            1_700_000_000_999,
        )
        .unwrap();
        let body: Value = serde_json::from_str(&feishu.body).unwrap();
        assert_eq!(body["timestamp"], "1700000000");
        assert_eq!(body["sign"], feishu_sign("fs-secret", 1_700_000_000));
        assert!(body["content"]["text"]
            .as_str()
            .unwrap()
            .contains("<at user_id=\"ou_wf\">王芳</at>"));

        let hook = request(ChannelKind::Webhook, "http://h/", Some("k"), &m, None, 5).unwrap();
        let signature = hook
            .headers
            .iter()
            .find(|(h, _)| *h == "x-linli-signature")
            .unwrap();
        assert_eq!(signature.1, linli_signature("k", 5, &hook.body));
        assert!(hook.headers.contains(&("x-linli-delivery", "7".into())));

        let sms = request(ChannelKind::Sms, "http://s/", None, &m, Some(&p), 0).unwrap();
        let body: Value = serde_json::from_str(&sms.body).unwrap();
        assert_eq!(body["phone"], "13800000001");
        let nobody = request(ChannelKind::Sms, "http://s/", None, &m, None, 0);
        assert!(nobody.is_err());
    }

    #[test]
    fn answers_are_read_as_each_robot_writes_them() {
        let retry = |kind, status, body: &[u8]| accepted(kind, status, body).map_err(|e| e.retry);
        let wecom = ChannelKind::Wecom;
        assert_eq!(retry(wecom, 200, br#"{"errcode":0,"errmsg":"ok"}"#), Ok(()));
        assert_eq!(
            retry(wecom, 200, br#"{"errcode":45009,"errmsg":"freq"}"#),
            Err(true)
        );
        assert_eq!(
            retry(wecom, 200, br#"{"errcode":93000,"errmsg":"bad key"}"#),
            Err(false)
        );
        let ding = ChannelKind::Dingtalk;
        assert_eq!(retry(ding, 200, b"not json"), Err(true));
        assert_eq!(
            retry(ding, 200, br#"{"errcode":310000,"errmsg":"sign"}"#),
            Err(false)
        );
        let feishu = ChannelKind::Feishu;
        assert_eq!(retry(feishu, 200, br#"{"code":0,"msg":"success"}"#), Ok(()));
        assert_eq!(retry(feishu, 200, br#"{"StatusCode":0}"#), Ok(()));
        assert_eq!(
            retry(feishu, 200, br#"{"code":19021,"msg":"sign"}"#),
            Err(false)
        );
        assert_eq!(retry(ChannelKind::Webhook, 204, b""), Ok(()));
        assert_eq!(retry(ChannelKind::Sms, 503, b"busy"), Err(true));
        assert_eq!(retry(ChannelKind::Sms, 429, b"slow down"), Err(true));
        assert_eq!(retry(ChannelKind::Webhook, 404, b"no"), Err(false));
    }
}
