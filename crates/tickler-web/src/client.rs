//! Who the client is and whether it came over https: the one rule for the login throttle,
//! the public pages' rate limit and `Secure` cookies.
//!
//! Behind a reverse proxy every connection comes from the proxy, so the client's address and
//! scheme are in the headers the proxy adds. Anyone can send those headers, so they are read
//! only when the connection comes from an address listed in `TICKLER_TRUSTED_PROXIES`, and
//! only as far back as the chain of trusted proxies goes: the right-most address that is not
//! one of them is the client (an address further left could be the client's own invention).
//! `X-Forwarded-For` / `X-Forwarded-Proto` are read, or `Forwarded` when there is no
//! `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{Extensions, HeaderMap, request::Parts},
};

use crate::AppState;

/// One trusted address or network, e.g. `10.0.0.0/8` or `::1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), 32, self.prefix)
                    == masked(u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// The first `prefix` bits of a `bits`-bit address.
fn masked(address: u128, bits: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        address >> (bits - prefix)
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:192.0.2.1`) is that IPv4 client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The proxies whose forwarding headers are believed (`TICKLER_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Parses a comma- or space-separated list of addresses and networks; the error names the
    /// entry that is neither.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        text.split([',', ' ', '\t', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| parse_network(entry).ok_or_else(|| format!("\"{entry}\" is not an IP address or network (e.g. 10.0.0.0/8, 127.0.0.1, ::1)")))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }
}

fn parse_network(entry: &str) -> Option<Network> {
    let (address, prefix) = match entry.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (entry, None),
    };
    let address = canonical(address.parse::<IpAddr>().ok()?);
    let bits = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(prefix) => prefix.parse::<u8>().ok().filter(|p| *p <= bits)?,
        None => bits,
    };
    Some(Network { address, prefix })
}

/// The client behind a request, as far as trusted proxies vouch for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub address: IpAddr,
    /// Whether the browser's connection was https (as the nearest trusted proxy says).
    pub https: bool,
}

impl Client {
    /// The client of a connection from `peer` carrying `headers`.
    pub fn of(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> Client {
        let peer = canonical(peer);
        if !trusted.trusts(peer) {
            return Client {
                address: peer,
                https: false,
            };
        }
        let hops = forwarded_hops(headers);
        // Right to left: each trusted proxy vouches for the address on its left. A chain of
        // trusted addresses only (a client inside the network) stands for its left-most one.
        let mut address = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = *hop else { break };
            address = ip;
            if !trusted.trusts(ip) {
                break;
            }
        }
        let https = proto_of(headers).is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        Client { address, https }
    }
}

/// The chain of addresses in `X-Forwarded-For`, else in `Forwarded`, left to right; an
/// element that is no address (`unknown`, an obfuscated name) ends what can be believed.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let x_forwarded: Vec<&str> = values(headers, "x-forwarded-for").collect();
    if !x_forwarded.is_empty() {
        return x_forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .map(parse_address)
            .collect();
    }
    values(headers, "forwarded")
        .flat_map(|value| value.split(','))
        .map(|element| parameter(element, "for").and_then(|node| parse_address(&node)))
        .collect()
}

/// The scheme the nearest proxy says the browser used: the last `X-Forwarded-Proto` value,
/// else the last `Forwarded` element's `proto=`.
fn proto_of(headers: &HeaderMap) -> Option<String> {
    if let Some(last) = values(headers, "x-forwarded-proto")
        .flat_map(|value| value.split(','))
        .last()
    {
        return Some(last.trim().to_string());
    }
    values(headers, "forwarded")
        .flat_map(|value| value.split(','))
        .last()
        .and_then(|element| parameter(element, "proto"))
}

fn values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
}

/// The value of `name=` in one `Forwarded` element, unquoted.
fn parameter(element: &str, name: &str) -> Option<String> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    text.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse::<IpAddr>().ok())
        .map(canonical)
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client::of_request(&parts.extensions, &parts.headers, state))
    }
}

impl Client {
    /// The client of a request; one served without connection info (an in-process call)
    /// counts as the unspecified address.
    pub fn of_request(extensions: &Extensions, headers: &HeaderMap, state: &AppState) -> Client {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Client::of(peer, headers, &state.config.trusted_proxies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).unwrap()
    }

    #[test]
    fn the_list_takes_addresses_and_networks_and_names_a_bad_entry() {
        let list = proxies("10.0.0.0/8, 127.0.0.1 ::1,fd00::/8");
        assert!(list.trusts(ip("10.1.2.3")));
        assert!(list.trusts(ip("127.0.0.1")));
        assert!(
            list.trusts(ip("::ffff:127.0.0.1")),
            "IPv4 through an IPv6 socket"
        );
        assert!(list.trusts(ip("::1")));
        assert!(list.trusts(ip("fd12::5")));
        assert!(!list.trusts(ip("11.0.0.1")));
        assert!(!list.trusts(ip("127.0.0.2")));
        assert!(proxies("").is_empty());
        assert!(proxies("0.0.0.0/0").trusts(ip("203.0.113.9")));
        let error = TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err();
        assert!(error.contains("\"proxy.local\""), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("::1/129").is_err());
    }

    #[test]
    fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
        let sent = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=198.51.100.8;proto=https"),
        ]);
        let client = Client::of(ip("203.0.113.9"), &sent, &proxies("10.0.0.0/8"));
        assert_eq!(client.address, ip("203.0.113.9"));
        assert!(!client.https);
        let nobody = Client::of(ip("10.0.0.2"), &sent, &TrustedProxies::default());
        assert_eq!(nobody.address, ip("10.0.0.2"));
    }

    #[test]
    fn the_client_is_the_right_most_address_no_trusted_proxy_stands_for() {
        let trusted = proxies("10.0.0.0/8");
        // The client wrote a made-up address in front; the proxy appended the real one.
        let sent = headers(&[
            ("x-forwarded-for", "1.2.3.4, 198.51.100.7"),
            ("x-forwarded-for", "10.0.0.5"),
            ("x-forwarded-proto", "https"),
        ]);
        let client = Client::of(ip("10.0.0.2"), &sent, &trusted);
        assert_eq!(client.address, ip("198.51.100.7"));
        assert!(client.https);
        // Only trusted proxies in the chain: the left-most of them.
        let inside = headers(&[("x-forwarded-for", "10.0.0.9")]);
        assert_eq!(
            Client::of(ip("10.0.0.2"), &inside, &trusted).address,
            ip("10.0.0.9")
        );
        // No header at all: the proxy itself.
        assert_eq!(
            Client::of(ip("10.0.0.2"), &HeaderMap::new(), &trusted).address,
            ip("10.0.0.2")
        );
        // Something that is no address ends the chain that can be believed.
        let unknown = headers(&[("x-forwarded-for", "198.51.100.7, unknown")]);
        assert_eq!(
            Client::of(ip("10.0.0.2"), &unknown, &trusted).address,
            ip("10.0.0.2")
        );
    }

    #[test]
    fn the_forwarded_header_is_read_when_there_is_no_x_forwarded_for() {
        let trusted = proxies("10.0.0.0/8");
        let sent = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=http, for=10.0.0.3;proto=https",
        )]);
        let client = Client::of(ip("10.0.0.2"), &sent, &trusted);
        assert_eq!(client.address, ip("2001:db8::7"));
        assert!(client.https, "the nearest proxy's proto");
        let plain = headers(&[("forwarded", "for=198.51.100.7:5000;proto=http")]);
        let client = Client::of(ip("10.0.0.2"), &plain, &trusted);
        assert_eq!(client.address, ip("198.51.100.7"));
        assert!(!client.https);
    }

    #[test]
    fn proto_is_the_last_one_the_nearest_proxy_set() {
        let trusted = proxies("127.0.0.1");
        let sent = headers(&[("x-forwarded-proto", "https, http")]);
        assert!(!Client::of(ip("127.0.0.1"), &sent, &trusted).https);
        let sent = headers(&[("x-forwarded-proto", "HTTPS")]);
        assert!(Client::of(ip("127.0.0.1"), &sent, &trusted).https);
    }
}
