//! SSH: the identification banners (RFC 4253 §4.2) and the KEXINIT messages
//! (RFC 4253 §7.1) for HASSH and HASSH-server (salesforce/hassh).
//!
//! Per direction, on the reassembled stream: lines before one starting with
//! `SSH-` are skipped (a server may send other lines first; at most
//! [`MAX_PRE_BANNER_BYTES`]); the banner is kept without CR/LF, at most
//! [`MAX_BANNER_BYTES`] bytes (a longer line is cut). A banner whose line never
//! ends (the flow stops, or the peer omits the newline) is reported as far as it
//! was seen. After the banner comes the first binary packet (no MAC, no
//! encryption before NEWKEYS): `uint32 packet_length`, `byte padding_length`,
//! payload; a KEXINIT (message 20) of at most [`MAX_PACKET_BYTES`] gives the
//! algorithm lists. HASSH = MD5 of `kex;enc_c2s;mac_c2s;comp_c2s` (client),
//! HASSH-server = MD5 of `kex;enc_s2c;mac_s2c;comp_s2c` (server).

use super::reasm::TcpStream;
use super::util::{Cur, escape_bytes, md5_hex};
use super::{Side, TcpSegment};

/// Bytes of a banner kept (RFC 4253 §4.2: 255 including CR LF).
pub const MAX_BANNER_BYTES: usize = 253;
/// Bytes of lines before the banner skipped, at most.
pub const MAX_PRE_BANNER_BYTES: usize = 4096;
/// Bytes of the first binary packet read, at most (a KEXINIT is 1-2 KB; post-quantum
/// and extension-heavy ones stay well below this).
pub const MAX_PACKET_BYTES: usize = 16 * 1024;

/// Whether `data` starts like an SSH identification line (`SSH-<digit>`).
pub fn looks_like_ssh(data: &[u8]) -> bool {
    data.len() >= 5 && data.starts_with(b"SSH-") && data[4].is_ascii_digit()
}

/// The algorithm lists of a KEXINIT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KexInit {
    /// The ten name-lists in order: kex, host key, enc c2s, enc s2c, mac c2s,
    /// mac s2c, comp c2s, comp s2c, lang c2s, lang s2c (rendered with
    /// [`escape_bytes`]).
    pub lists: [String; 10],
}

impl KexInit {
    /// Parse a KEXINIT payload (starting at the message number 20).
    pub fn parse(payload: &[u8]) -> Option<KexInit> {
        let mut c = Cur::new(payload);
        if c.u8()? != 20 {
            return None;
        }
        c.take(16)?;
        let mut k = KexInit::default();
        for l in &mut k.lists {
            let n = c.u32()? as usize;
            *l = escape_bytes(c.take(n)?, n);
        }
        Some(k)
    }

    /// The HASSH algorithm string of a client (`kex;enc;mac;comp` client to server).
    pub fn hassh_string(&self) -> String {
        [0, 2, 4, 6].map(|i| self.lists[i].as_str()).join(";")
    }

    /// The HASSH-server algorithm string (`kex;enc;mac;comp` server to client).
    pub fn hassh_server_string(&self) -> String {
        [0, 3, 5, 7].map(|i| self.lists[i].as_str()).join(";")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Stage {
    /// Reading lines up to the banner.
    #[default]
    Banner,
    /// Reading the first binary packet.
    Packet,
    /// Nothing more wanted (done, not SSH, or over a bound).
    Done,
}

#[derive(Debug, Default, Clone)]
struct Dir {
    stage: Stage,
    line: Vec<u8>,
    /// Bytes of the current line beyond the banner bound (dropped).
    line_overflow: bool,
    skipped: usize,
    banner: Option<String>,
    packet: Vec<u8>,
    kex: Option<KexInit>,
}

/// Per-flow SSH state.
#[derive(Debug, Default, Clone)]
pub struct SshState {
    stream: [TcpStream; 2],
    dir: [Dir; 2],
}

impl SshState {
    /// A new state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one TCP payload of `side`.
    pub fn feed(&mut self, side: Side, seg: TcpSegment, payload: &[u8]) {
        let i = side.index();
        if self.dir[i].stage == Stage::Done {
            return;
        }
        let dir = &mut self.dir[i];
        self.stream[i].push(seg.seq, seg.syn, payload, &mut |d| dir.data(d));
        if dir.stage == Stage::Done {
            self.stream[i].clear();
        }
    }

    /// The banner of `side` (complete, or the start of a line never ended).
    pub fn banner(&self, side: Side) -> Option<String> {
        let d = &self.dir[side.index()];
        d.banner.clone().or_else(|| {
            (d.stage == Stage::Banner && looks_like_ssh(&d.line))
                .then(|| escape_bytes(&d.line, MAX_BANNER_BYTES))
        })
    }

    /// The KEXINIT of `side`.
    pub fn kexinit(&self, side: Side) -> Option<&KexInit> {
        self.dir[side.index()].kex.as_ref()
    }

    /// HASSH of the client's KEXINIT.
    pub fn hassh(&self) -> Option<String> {
        self.kexinit(Side::Client)
            .map(|k| md5_hex(k.hassh_string().as_bytes()))
    }

    /// HASSH-server of the server's KEXINIT.
    pub fn hassh_server(&self) -> Option<String> {
        self.kexinit(Side::Server)
            .map(|k| md5_hex(k.hassh_server_string().as_bytes()))
    }

    /// Whether nothing more will be learnt.
    pub fn is_done(&self) -> bool {
        self.dir.iter().all(|d| d.stage == Stage::Done)
    }

    /// The flow's SSH metadata, rendered.
    pub fn summary(&self) -> SshSummary {
        SshSummary {
            client: self.banner(Side::Client),
            server: self.banner(Side::Server),
            hassh: self.hassh(),
            hassh_server: self.hassh_server(),
        }
    }
}

/// A flow's SSH metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshSummary {
    /// Client banner (without CR LF).
    pub client: Option<String>,
    /// Server banner.
    pub server: Option<String>,
    /// HASSH of the client's KEXINIT.
    pub hassh: Option<String>,
    /// HASSH-server of the server's KEXINIT.
    pub hassh_server: Option<String>,
}

impl Dir {
    fn data(&mut self, mut d: &[u8]) {
        while !d.is_empty() {
            match self.stage {
                Stage::Done => return,
                Stage::Banner => {
                    let nl = d.iter().position(|&b| b == b'\n');
                    let (part, rest) = match nl {
                        Some(n) => (&d[..n], &d[n + 1..]),
                        None => (d, &[][..]),
                    };
                    let room = MAX_BANNER_BYTES + 1 - self.line.len().min(MAX_BANNER_BYTES + 1);
                    self.line.extend_from_slice(&part[..part.len().min(room)]);
                    self.line_overflow |= part.len() > room;
                    d = rest;
                    if nl.is_none() {
                        // Not SSH at all: give up once the first bytes say so.
                        if self.skipped == 0
                            && self.line.len() >= 5
                            && !looks_like_ssh(&self.line)
                            && !self.line.is_ascii()
                        {
                            self.stage = Stage::Done;
                        }
                        return;
                    }
                    let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
                    if looks_like_ssh(line) {
                        self.banner = Some(escape_bytes(line, MAX_BANNER_BYTES));
                        // SSH 1.x has no KEXINIT.
                        self.stage =
                            if line.starts_with(b"SSH-1.") && !line.starts_with(b"SSH-1.99") {
                                Stage::Done
                            } else {
                                Stage::Packet
                            };
                        self.line = Vec::new();
                    } else {
                        self.skipped += self.line.len() + 1;
                        self.line.clear();
                        if self.skipped > MAX_PRE_BANNER_BYTES || self.line_overflow {
                            self.stage = Stage::Done;
                        }
                    }
                    self.line_overflow = false;
                }
                Stage::Packet => {
                    let need = match self.packet.get(..4) {
                        Some(h) => 4 + u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize,
                        None => 4,
                    };
                    if need > MAX_PACKET_BYTES + 4 || (self.packet.len() >= 4 && need <= 5) {
                        self.stage = Stage::Done;
                        self.packet = Vec::new();
                        return;
                    }
                    let n = (need - self.packet.len()).min(d.len());
                    self.packet.extend_from_slice(&d[..n]);
                    d = &d[n..];
                    if self.packet.len() == need && need > 4 {
                        let pad = usize::from(self.packet.get(4).copied().unwrap_or(0));
                        let payload_end = need.saturating_sub(pad);
                        self.kex = self.packet.get(5..payload_end).and_then(KexInit::parse);
                        self.stage = Stage::Done;
                        self.packet = Vec::new();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kexinit(lists: [&str; 10]) -> Vec<u8> {
        let mut p = vec![20];
        p.extend_from_slice(&[0x42; 16]);
        for l in lists {
            p.extend_from_slice(&(l.len() as u32).to_be_bytes());
            p.extend_from_slice(l.as_bytes());
        }
        p.extend_from_slice(&[0, 0, 0, 0, 0]);
        let pad = 8 - (5 + p.len()) % 8 + 4;
        let mut pkt = ((1 + p.len() + pad) as u32).to_be_bytes().to_vec();
        pkt.push(pad as u8);
        pkt.extend_from_slice(&p);
        pkt.extend(std::iter::repeat_n(0, pad));
        pkt
    }

    /// Cyberduck 6.7.1's client algorithms (salesforce/hassh README vector).
    const CYBERDUCK: [&str; 10] = [
        "curve25519-sha256@libssh.org,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp521,ecdh-sha2-nistp384,\
ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,\
diffie-hellman-group14-sha256,diffie-hellman-group15-sha512,diffie-hellman-group16-sha512,\
diffie-hellman-group17-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256@ssh.com,\
diffie-hellman-group15-sha256,diffie-hellman-group15-sha256@ssh.com,diffie-hellman-group15-sha384@ssh.com,\
diffie-hellman-group16-sha256,diffie-hellman-group16-sha384@ssh.com,diffie-hellman-group16-sha512@ssh.com,\
diffie-hellman-group18-sha512@ssh.com",
        "ssh-rsa",
        "aes128-cbc,aes128-ctr,aes192-cbc,aes192-ctr,aes256-cbc,aes256-ctr,blowfish-cbc,blowfish-ctr,cast128-cbc,\
cast128-ctr,idea-cbc,idea-ctr,serpent128-cbc,serpent128-ctr,serpent192-cbc,serpent192-ctr,serpent256-cbc,\
serpent256-ctr,3des-cbc,3des-ctr,twofish128-cbc,twofish128-ctr,twofish192-cbc,twofish192-ctr,twofish256-cbc,\
twofish256-ctr,twofish-cbc,arcfour,arcfour128,arcfour256",
        "x",
        "hmac-sha1,hmac-sha1-96,hmac-md5,hmac-md5-96,hmac-sha2-256,hmac-sha2-512",
        "y",
        "zlib@openssh.com,zlib,none",
        "z",
        "",
        "",
    ];

    #[test]
    fn hassh_readme_vector() {
        // salesforce/hassh README: Cyberduck's algorithms → 8a8ae540028bf433cd68356c1b9e8d5b.
        let k = KexInit::parse(&kexinit(CYBERDUCK)[5..]).unwrap();
        assert_eq!(k.hassh_string().matches(';').count(), 3);
        assert_eq!(
            md5_hex(k.hassh_string().as_bytes()),
            "8a8ae540028bf433cd68356c1b9e8d5b"
        );
        // README OpenSSH_5.3 server string → b1c6c0d56317555b85c7005a3de29325 (note §8).
        let server = "diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1;aes128-ctr,aes192-ctr,aes256-ctr,arcfour256,arcfour128,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,arcfour,rijndael-cbc@lysator.liu.se;hmac-md5,hmac-sha1,umac-64@openssh.com,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;none,zlib@openssh.com";
        assert_eq!(
            md5_hex(server.as_bytes()),
            "b1c6c0d56317555b85c7005a3de29325"
        );
        let p: Vec<&str> = server.split(';').collect();
        let k = KexInit::parse(&kexinit([p[0], "h", "x", p[1], "x", p[2], "x", p[3], "", ""])[5..])
            .unwrap();
        assert_eq!(k.hassh_server_string(), server);
    }

    #[test]
    fn banner_and_kexinit_in_one_segment_and_split() {
        let mut client = b"SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5\r\n".to_vec();
        client.extend_from_slice(&kexinit(CYBERDUCK));
        for cut in [0, 3, 20, 41, 42, 50, client.len() - 1] {
            let mut s = SshState::new();
            s.feed(Side::Client, TcpSegment { seq: 0, syn: true }, &[]);
            s.feed(
                Side::Client,
                TcpSegment {
                    seq: 1 + cut as u32,
                    syn: false,
                },
                &client[cut..],
            );
            s.feed(
                Side::Client,
                TcpSegment { seq: 1, syn: false },
                &client[..cut],
            );
            assert_eq!(
                s.banner(Side::Client).as_deref(),
                Some("SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5")
            );
            assert_eq!(
                s.hassh().as_deref(),
                Some("8a8ae540028bf433cd68356c1b9e8d5b"),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn banner_without_newline_pre_banner_lines_and_v1() {
        let mut s = SshState::new();
        s.feed(
            Side::Client,
            TcpSegment::default(),
            b"SSH-2.0-PuTTY_Release_0.74",
        );
        assert_eq!(
            s.banner(Side::Client).as_deref(),
            Some("SSH-2.0-PuTTY_Release_0.74")
        );
        s.feed(
            Side::Server,
            TcpSegment::default(),
            b"Welcome\r\nauthorized use only\nSSH-2.0-OpenSSH_7.4\n",
        );
        assert_eq!(
            s.banner(Side::Server).as_deref(),
            Some("SSH-2.0-OpenSSH_7.4")
        );
        let mut v1 = SshState::new();
        v1.feed(
            Side::Client,
            TcpSegment::default(),
            b"SSH-1.5-1.2.26\n\0\0\x01\x04garbage",
        );
        assert_eq!(v1.banner(Side::Client).as_deref(), Some("SSH-1.5-1.2.26"));
        assert!(v1.hassh().is_none());
        // An overlong banner is cut at the bound.
        let mut long = b"SSH-2.0-".to_vec();
        long.extend(std::iter::repeat_n(b'x', 1000));
        long.push(b'\n');
        let mut l = SshState::new();
        l.feed(Side::Server, TcpSegment::default(), &long);
        assert_eq!(l.banner(Side::Server).unwrap().len(), MAX_BANNER_BYTES);
    }

    #[test]
    fn malformed_never_panics() {
        let mut client = b"SSH-2.0-x\r\n".to_vec();
        client.extend_from_slice(&kexinit(CYBERDUCK));
        for i in 0..client.len() {
            for v in [0, 0xff, 0x7f] {
                let mut c = client.clone();
                c[i] = v;
                let mut s = SshState::new();
                s.feed(Side::Client, TcpSegment::default(), &c);
                let _ = (s.hassh(), s.banner(Side::Client));
            }
        }
        for cut in 0..client.len() {
            let mut s = SshState::new();
            s.feed(Side::Client, TcpSegment::default(), &client[..cut]);
            assert!(s.hassh().is_none());
        }
        let mut s = SshState::new();
        s.feed(
            Side::Client,
            TcpSegment::default(),
            b"SSH-2.0-x\n\xff\xff\xff\xff\x05",
        );
        assert!(s.is_done() || s.dir[0].stage == Stage::Done);
    }
}
