//! NFStream's `requested_server_name` (nDPI's `host_server_name`) from the
//! names flowq read: the `nfstream --dissect` profile writes names as nDPI
//! 4.10 renders them, so that the column compares with NFStream's; the
//! `standard` and `full` profiles' `server_name` keeps them as sent.
//! Definitions: docs/features.md ("Application metadata", `requested_server_name`)
//! and docs/app-metadata.md ("Checked against NFStream").
//!
//! nDPI's rules, as read in its source (`ndpi_hostname_sni_set`,
//! `ndpi_grab_dns_name`, `ndpi_netbios_name_interpret`):
//! * every name goes through one buffer of 80 bytes: a longer name keeps its
//!   **last** 79 bytes;
//! * TLS/QUIC SNI, HTTP Host, NetBIOS and DHCP names, DNS names (not mDNS):
//!   ASCII letters lowercased, a tab made a space, bytes outside 0x20-0x7e
//!   made `?`, the name cut at a NUL byte, trailing spaces removed;
//! * DNS names (ports 53 and LLMNR's 5355): each label byte outside
//!   `[A-Za-z0-9_-]` is `_` if printable, else `?`, before the above; the root
//!   is empty; mDNS names (port 5353) are only lowercased;
//! * the HTTP Host is cut at its first `:` (the port), or after the `]` of an
//!   IPv6 literal, whose brackets it keeps;
//! * a NetBIOS name is decoded from its first-level encoding pair by pair up
//!   to the first character outside `A`-`P` (so a damaged encoding gives its
//!   first bytes), skipping bytes that are not printable.

/// nDPI's `host_server_name` holds 79 bytes and a NUL.
const NDPI_NAME_BYTES: usize = 79;

/// The bytes of a name flowq rendered with `app::escape_bytes` (`\\` for a
/// backslash, `\xNN` for a byte outside 0x20-0x7e): the rendering is
/// reversible, so nDPI's rules can be applied to the bytes as sent.
pub(super) fn unescape(rendered: &str, out: &mut Vec<u8>) {
    out.clear();
    let b = rendered.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
            if b.get(i + 1) == Some(&b'x')
                && let Some(v) = b
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
}

/// nDPI's `ndpi_hostname_sni_set` with all its normalizations
/// (`NDPI_HOSTNAME_NORM_ALL`), appended to `out`: the last 79 bytes,
/// cut at a NUL, lowercased, tab to space, non-printable to `?`, trailing
/// spaces removed.
pub(super) fn normalize_all(name: &[u8], out: &mut String) {
    let start = out.len();
    for &c in &name[name.len().saturating_sub(NDPI_NAME_BYTES)..] {
        if c == 0 {
            break;
        }
        out.push(match c.to_ascii_lowercase() {
            b'\t' => ' ',
            c @ 0x20..=0x7e => c as char,
            _ => '?',
        });
    }
    while out.len() > start && out.ends_with(' ') {
        out.pop();
    }
}

/// nDPI's rendering of a DNS question name (not mDNS), from its bytes as
/// flowq renders them (labels joined by `.`; the root is `.`).
pub(super) fn dns_name(name: &[u8], out: &mut String) {
    if name == b"." {
        return; // The root has no labels: nDPI's name is empty.
    }
    let graded: Vec<u8> = name
        .iter()
        .map(|&c| match c {
            b'.' | b'-' | b'_' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => c,
            0x20..=0x7e => b'_',
            _ => b'?',
        })
        .collect();
    normalize_all(&graded, out);
}

/// nDPI's rendering of an mDNS name: lowercased only (the bytes outside
/// 0x20-0x7e stay, escaped as flowq escapes them).
pub(super) fn mdns_name(name: &[u8], out: &mut String) {
    let mut kept: Vec<u8> = name[name.len().saturating_sub(NDPI_NAME_BYTES)..].to_vec();
    if let Some(nul) = kept.iter().position(|&c| c == 0) {
        kept.truncate(nul);
    }
    kept.make_ascii_lowercase();
    if kept != b"." {
        out.push_str(&crate::app::escape_bytes(&kept, kept.len()));
    }
}

/// nDPI's NetBIOS name of a name service query name's first label (the
/// first-level encoding): pairs decoded up to the first character outside
/// `A`-`P`, non-printable bytes skipped, trailing spaces removed, then
/// [`normalize_all`]. Nothing when no byte decodes.
pub(super) fn netbios_name(label: &[u8], out: &mut String) {
    let mut name = Vec::with_capacity(16);
    for pair in label.chunks_exact(2) {
        let (hi, lo) = (pair[0], pair[1]);
        if !(b'A'..=b'P').contains(&hi) || !(b'A'..=b'P').contains(&lo) {
            break;
        }
        let c = (hi - b'A') << 4 | (lo - b'A');
        if (0x20..=0x7e).contains(&c) {
            name.push(c);
        }
    }
    normalize_all(&name, out);
}

/// nDPI's HTTP Host: normalized as a whole, then cut at the port (after the
/// `]` of an IPv6 literal, else at the first `:`).
pub(super) fn http_host(host: &[u8], out: &mut String) {
    let start = out.len();
    normalize_all(host, out);
    let host = &out[start..];
    let end = if host.starts_with('[') {
        host.find(']').map(|i| i + 1)
    } else {
        host.find(':')
    };
    if let Some(end) = end {
        out.truncate(start + end);
    }
}

/// nDPI's DHCP fingerprint (its `client_fingerprint` of a DHCP flow): the
/// parameter request list's option codes in decimal joined by `,`, written
/// into a 48-byte buffer: codes are added while the text is shorter than 46
/// characters, and the text is cut at 47.
pub(super) fn dhcp_fingerprint(codes: &[u8], out: &mut String) {
    use std::fmt::Write as _;
    let start = out.len();
    for (i, code) in codes.iter().enumerate() {
        if out.len() - start >= 46 {
            break;
        }
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(out, "{sep}{code}");
    }
    out.truncate(start + (out.len() - start).min(47));
}

/// A header value as NFStream gives it: nDPI keeps the value's bytes,
/// NFStream's engine copies them into a C buffer of `size` bytes
/// (`snprintf("%s")`: cut at the first NUL, at most `size - 1` bytes), and
/// its Python side reads that back with
/// `ffi.string(..).decode('utf-8', errors='ignore')`: bytes that are not
/// UTF-8 (a sequence cut by the bound included) are left out.
pub(super) fn c_string_utf8(value: &[u8], size: usize, out: &mut String) {
    let value = value.split(|&b| b == 0).next().unwrap_or_default();
    let value = &value[..value.len().min(size.saturating_sub(1))];
    for chunk in value.utf8_chunks() {
        out.push_str(chunk.valid());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(&[u8], &mut String), name: &[u8]) -> String {
        let mut out = String::new();
        f(name, &mut out);
        out
    }

    #[test]
    fn c_strings_as_nfstream_reads_them() {
        let run = |v: &[u8], size: usize| {
            let mut out = String::new();
            c_string_utf8(v, size, &mut out);
            out
        };
        // A byte that is not UTF-8 is left out (the corpus's fuzzed
        // `Sony\x8aricssonT68/R201A`); UTF-8 stays.
        assert_eq!(
            run(b"Sony\x8aricssonT68/R201A", 256),
            "SonyricssonT68/R201A"
        );
        assert_eq!(run("caf\u{e9}/1".as_bytes(), 256), "caf\u{e9}/1");
        // Cut at a NUL, and at 255 bytes of a 256-byte buffer, the second
        // byte of a cut `\xc3\xa9` left out.
        assert_eq!(run(b"a\x00b", 256), "a");
        let mut long = vec![b'x'; 254];
        long.extend_from_slice("\u{e9}".as_bytes());
        assert_eq!(run(&long, 256), "x".repeat(254));
        assert_eq!(run(b"abcdef", 4), "abc");
    }

    #[test]
    fn unescape_reverses_escape_bytes() {
        let bytes = b"a\\b\x00\xe5\xb0.c\\x41";
        let rendered = crate::app::escape_bytes(bytes, 100);
        let mut back = Vec::new();
        unescape(&rendered, &mut back);
        assert_eq!(back, bytes);
    }

    #[test]
    fn ndpi_renderings() {
        // Lowercased (the corpus's LLMNR and HTTP names).
        assert_eq!(run(normalize_all, b"jason-PC"), "jason-pc");
        // Each byte outside printable ASCII is one `?` (a UTF-8 LLMNR name
        // of 4 characters, 12 bytes).
        assert_eq!(
            run(
                dns_name,
                b"\xe5\xb0\x8f\xe4\xbd\x9b\xe5\xb0\x88\xe6\xa9\x9f"
            ),
            "????????????"
        );
        // DNS: printable bytes outside the hostname set are `_`.
        assert_eq!(
            run(dns_name, b"1.0.0.127.in-ad\xacr.arpa"),
            "1.0.0.127.in-ad?r.arpa"
        );
        assert_eq!(run(dns_name, b"a%s.Example.COM"), "a_s.example.com");
        assert_eq!(run(dns_name, b"."), "");
        // mDNS: lowercased only.
        assert_eq!(
            run(mdns_name, b"Gemini._SFTP-ssh._tcp.local"),
            "gemini._sftp-ssh._tcp.local"
        );
        // Tab, NUL, trailing spaces.
        assert_eq!(run(normalize_all, b"a\tb  "), "a b");
        assert_eq!(run(normalize_all, b"ab\0cd"), "ab");
        // 80 bytes and more: the last 79.
        let long: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
        let got = run(normalize_all, &long);
        assert_eq!(got.len(), 79);
        assert_eq!(got.as_bytes(), &long[21..]);
        // HTTP Host: port cut, IPv6 brackets kept.
        assert_eq!(run(http_host, b"[FF02::C]:1900"), "[ff02::c]");
        assert_eq!(run(http_host, b"239.255.255.250:1900"), "239.255.255.250");
        assert_eq!(run(http_host, b"Example.com"), "example.com");
        // NetBIOS: `WORKGROUP` + suffix 0x1d (not printable, skipped) ...
        assert_eq!(
            run(netbios_name, b"FHEPFCELEHFCEPFFFACACACACACACABN"),
            "workgroup"
        );
        // ... and damaged encodings decoded up to the first character
        // outside A-P (`EC`=C, `EJ`=I, `FP`=_ ...).
        assert_eq!(
            run(netbios_name, b"EFEDEJFPEEEPENkBEJEOCACACACACABM"),
            "eci_dom"
        );
        assert_eq!(
            run(netbios_name, b"FHEPFCELEHvCEPFFFACACACACACACABL"),
            "workg"
        );
        assert_eq!(
            run(netbios_name, b"FHEPFCELEHFCEPFFFACACACACACA%s\x00L"),
            "workgroup"
        );
        assert_eq!(run(netbios_name, b"zz"), "");
    }

    #[test]
    fn dhcp_fingerprints() {
        // 1kxun.pcap's first DHCP client, as NFStream shows it.
        assert_eq!(
            run(dhcp_fingerprint, &[1, 121, 3, 6, 15, 119, 252]),
            "1,121,3,6,15,119,252"
        );
        assert_eq!(run(dhcp_fingerprint, &[]), "");
        // 11 codes of 3 digits: 43 characters; `,7` makes 45 (< 46, so one
        // more code); `,252` would make 49, cut at 47: `,2`.
        let mut codes: Vec<u8> = (100..=110).collect();
        codes.extend([7, 252, 1]);
        let got = run(dhcp_fingerprint, &codes);
        assert_eq!(got, "100,101,102,103,104,105,106,107,108,109,110,7,2");
        assert_eq!(got.len(), 47);
        // Reaching 46 exactly stops without a cut: 10 codes of 3 digits
        // (39), `,10` (42), `,100` (46).
        let mut codes: Vec<u8> = (100..=109).collect();
        codes.extend([10, 100, 5]);
        assert_eq!(
            run(dhcp_fingerprint, &codes),
            "100,101,102,103,104,105,106,107,108,109,10,100"
        );
    }
}
