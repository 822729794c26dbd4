//! Who is on the other end: the client's address, decided once per request.
//!
//! Behind an ingress or load balancer every connection comes from the
//! proxy, and the client's own address is in `X-Forwarded-For`. That header
//! is only believed when the connection comes from a proxy the operator
//! named (`--trusted-proxy`): anyone else could write any address into it
//! and so choose which address a login lock or an audit line names. The
//! client is then the right-most address in the header that is not itself
//! a trusted proxy.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The client's address, as decided by [`resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not an IP address or a network like 10.0.0.0/8");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V4(n), IpAddr::V6(a)) => a.to_ipv4_mapped().is_some_and(|a| prefix_eq(&n.octets(), &a.octets(), self.prefix)),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    a[..whole] == b[..whole] && (rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0)
}

/// The client of a request that came over `peer`, given the proxies to
/// trust and the request's `X-Forwarded-For` values.
pub fn resolve(peer: IpAddr, forwarded_for: &[&str], trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops = forwarded_for.iter().flat_map(|v| v.split(',')).map(str::trim).collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // An unreadable hop: stop believing what comes before it.
            Err(_) => break,
        }
    }
    client
}

/// Middleware: puts the [`ClientAddr`] of every request in its extensions.
/// Set on a request that came through a trusted reverse proxy, whose
/// `X-Forwarded-*` headers may then be believed.
#[derive(Debug, Clone, Copy)]
pub struct FromTrustedProxy;

pub async fn mark(trusted: std::sync::Arc<Vec<Cidr>>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let forwarded: Vec<&str> = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let client = resolve(peer.ip(), &forwarded, &trusted);
        if trusted.iter().any(|c| c.contains(peer.ip())) {
            req.extensions_mut().insert(FromTrustedProxy);
        }
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_through_a_trusted_proxy() {
        let trusted: Vec<Cidr> = ["10.0.0.0/8", "fd00::/8"].iter().map(|c| c.parse().unwrap()).collect();
        // Straight from the internet: the header is whatever the sender wrote.
        assert_eq!(resolve(ip("203.0.113.7"), &["1.2.3.4"], &trusted), ip("203.0.113.7"));
        // Through the ingress: the client it saw.
        assert_eq!(resolve(ip("10.2.0.5"), &["198.51.100.23"], &trusted), ip("198.51.100.23"));
        // A client that forged a first hop: the right-most untrusted one wins.
        assert_eq!(resolve(ip("10.2.0.5"), &["6.6.6.6, 198.51.100.23, 10.9.9.9"], &trusted), ip("198.51.100.23"));
        // No header through the proxy: the proxy itself.
        assert_eq!(resolve(ip("10.2.0.5"), &[], &trusted), ip("10.2.0.5"));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err() && "ten".parse::<Cidr>().is_err());
        assert!("192.168.1.0/23".parse::<Cidr>().unwrap().contains(ip("192.168.0.200")));
        assert!(!"192.168.1.0/24".parse::<Cidr>().unwrap().contains(ip("192.168.0.200")));
    }
}
