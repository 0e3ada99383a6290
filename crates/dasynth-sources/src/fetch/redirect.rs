//! Which HTTP redirects a crawl follows. A public crawler must not let a server it was pointed
//! at send it into the network it runs in: a redirect to another origin whose host is, or
//! resolves to, a loopback, private or link-local address (`127.0.0.1`, `10.x`, `192.168.x`,
//! `169.254.169.254`, `::1`, `fc00::/7`, `fe80::/10`, ...) is refused unless
//! `crawl.allow-private-redirects` is set. Redirects within the origin the user asked for are
//! followed whatever its address, so a source on loopback still works. At most ten hops.
//!
//! The check resolves the redirect's host when the policy runs; a name whose address changes
//! between that check and the connection is not caught here.

use std::net::{IpAddr, ToSocketAddrs};

/// Hops followed before giving up (reqwest's default).
const MAX_REDIRECTS: usize = 10;

/// The redirect policy of the crawl's HTTP client.
pub fn policy(allow_private: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(Refused(format!("more than {MAX_REDIRECTS} redirects")));
        }
        let first = attempt.previous().first();
        if allow_private || first.is_some_and(|f| f.origin() == attempt.url().origin()) {
            return attempt.follow();
        }
        match private_address(attempt.url()) {
            Some((ip, kind)) => {
                let to = attempt.url().to_string();
                attempt.error(Refused(format!(
                    "refused a redirect to {to}: {ip} is a {kind} address\nhint: set crawl.allow-private-redirects = true to follow redirects into private networks"
                )))
            }
            None => attempt.follow(),
        }
    })
}

/// Why a redirect was not followed (the deepest cause of the request's error).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Whether a request error is a refused redirect (not worth retrying).
pub fn is_refused(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<Refused>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The first loopback, private or link-local address the URL's host is or resolves to.
fn private_address(url: &reqwest::Url) -> Option<(IpAddr, &'static str)> {
    let host = url.host_str()?;
    // IPv6 literals come bracketed.
    let addrs: Vec<IpAddr> = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            let port = url.port_or_known_default().unwrap_or(80);
            // A name that does not resolve fails when the client connects.
            (host, port).to_socket_addrs().map(|it| it.map(|a| a.ip()).collect()).unwrap_or_default()
        }
    };
    addrs.into_iter().find_map(|ip| classify(ip).map(|kind| (ip, kind)))
}

/// What kind of non-public address `ip` is, if it is one.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() || v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64 {
                // 10/8, 172.16/12, 192.168/16, and 100.64/10 (carrier-grade NAT).
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || v4.octets()[0] == 0 {
                Some("unspecified")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify(IpAddr::V4(v4));
            }
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unique_local() {
                Some("private")
            } else if v6.is_unicast_link_local() {
                Some("link-local")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_classified() {
        let kind = |s: &str| classify(s.parse().unwrap());
        assert_eq!(kind("127.0.0.2"), Some("loopback"));
        assert_eq!(kind("10.1.2.3"), Some("private"));
        assert_eq!(kind("172.31.0.1"), Some("private"));
        assert_eq!(kind("192.168.1.1"), Some("private"));
        assert_eq!(kind("100.64.0.1"), Some("private"));
        assert_eq!(kind("169.254.169.254"), Some("link-local"));
        assert_eq!(kind("0.0.0.0"), Some("unspecified"));
        assert_eq!(kind("::1"), Some("loopback"));
        assert_eq!(kind("fd00::1"), Some("private"));
        assert_eq!(kind("fe80::1"), Some("link-local"));
        assert_eq!(kind("::ffff:192.168.0.1"), Some("private"));
        assert_eq!(kind("93.184.216.34"), None);
        assert_eq!(kind("172.32.0.1"), None);
        assert_eq!(kind("2606:4700::1111"), None);
    }
}
