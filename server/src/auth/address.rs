//! Whose address a request comes from, for the sign-in limits and the log.
//!
//! The peer of the connection, unless that peer is a reverse proxy the office named
//! with `--trusted-proxy CIDR`: then the `X-Forwarded-For` header says who the client
//! is, read from the right (the nearest hop first) up to the first address that is not
//! itself a trusted proxy. Without `--trusted-proxy` the header is ignored, so a client
//! cannot pick a new address per guess by writing it.

use axum::http::HeaderMap;
use std::net::IpAddr;

/// An address block, `10.0.0.0/8` or `fd00::/8`; a bare address is one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not an address block such as 10.0.0.0/8 or ::1/128");
        let (address, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| bad())?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(bad)?,
            None => most,
        };
        Ok(Cidr { network, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        let (net, addr, bits) = match (self.network, address) {
            (IpAddr::V4(n), IpAddr::V4(a)) => (u32::from(n) as u128, u32::from(a) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
            _ => return false,
        };
        let host_bits = bits - u32::from(self.prefix);
        host_bits >= bits || (net >> host_bits) == (addr >> host_bits)
    }
}

/// The proxies whose `X-Forwarded-For` counts.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(address))
    }

    /// The client's address: see the module's comment.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Ok(address) = hop.parse::<IpAddr>() else {
                // Garbage: stop at the last hop a trusted proxy vouched for.
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn blocks_parse_and_contain() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.200.3")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(block.contains(ip("::ffff:10.1.0.9")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "x/1",
            "10.0.0.0/-1",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_counts_only_through_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("10.0.0.5"), &forwarded("1.2.3.4")),
            ip("10.0.0.5")
        );
        let proxy = TrustedProxies(vec!["10.0.0.0/24".parse().unwrap()]);
        assert_eq!(
            proxy.client(ip("10.0.0.5"), &forwarded("1.2.3.4")),
            ip("1.2.3.4")
        );
        // A client writing its own header: the proxy appends the real address last.
        assert_eq!(
            proxy.client(ip("10.0.0.5"), &forwarded("6.6.6.6, 1.2.3.4")),
            ip("1.2.3.4")
        );
        // Two trusted proxies in a row.
        assert_eq!(
            proxy.client(ip("10.0.0.5"), &forwarded("1.2.3.4, 10.0.0.7")),
            ip("1.2.3.4")
        );
        // Not through the proxy: the header means nothing.
        assert_eq!(
            proxy.client(ip("5.5.5.5"), &forwarded("1.2.3.4")),
            ip("5.5.5.5")
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(
            proxy.client(ip("10.0.0.5"), &HeaderMap::new()),
            ip("10.0.0.5")
        );
        assert_eq!(
            proxy.client(ip("10.0.0.5"), &forwarded("nonsense")),
            ip("10.0.0.5")
        );
    }
}
