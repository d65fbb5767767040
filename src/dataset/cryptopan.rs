//! Prefix-preserving address anonymization (Crypto-PAn, Xu, Fan, Ammar and Moon,
//! ICNP 2002), for IPv4, IPv6 and, as an extension, 48-bit MAC addresses.
//!
//! Two addresses that share their first k bits map to two addresses that share
//! their first k bits and differ in bit k + 1, so subnets stay subnets while no
//! address can be read back without the key. The mapping depends only on the
//! key: every capture of a dataset, and every run with the same key, maps an
//! address the same way.

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use anyhow::{Context, bail};
use sha2::Digest as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// An anonymizer with its key schedule and pad.
#[derive(Clone)]
pub struct CryptoPan {
    cipher: Aes128,
    /// AES of the key's second half: the bits of the cipher input that are not
    /// taken from the address.
    pad: [u8; 16],
}

impl std::fmt::Debug for CryptoPan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs and error messages.
        f.write_str("CryptoPan { .. }")
    }
}

impl CryptoPan {
    /// An anonymizer for a 32-byte key: the first 16 bytes are the AES-128 key,
    /// the last 16 make the pad.
    pub fn new(key: &[u8; 32]) -> Self {
        let cipher = Aes128::new(GenericArray::from_slice(&key[..16]));
        let mut pad = GenericArray::clone_from_slice(&key[16..]);
        cipher.encrypt_block(&mut pad);
        CryptoPan {
            cipher,
            pad: pad.into(),
        }
    }

    /// Reads a key file: 64 hexadecimal characters (surrounding whitespace and
    /// `#` comment lines allowed). Also returns the key's fingerprint, which
    /// tells whether two datasets used the same key without revealing it.
    pub fn from_key_file(path: &Path) -> anyhow::Result<(Self, String)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?;
        let hex: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        let key = parse_key_hex(&hex).with_context(|| {
            format!(
                "{}: a key file holds a 32-byte key as 64 hexadecimal characters \
                 (make one with `openssl rand -hex 32 > {}`)",
                path.display(),
                path.display()
            )
        })?;
        let digest = sha2::Sha256::new()
            .chain_update(b"flowq crypto-pan key fingerprint\0")
            .chain_update(key)
            .finalize();
        let fingerprint = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok((CryptoPan::new(&key), fingerprint))
    }

    /// The anonymized form of the first `bits` bits of `value` (left-aligned in
    /// the 128-bit integer).
    fn anonymize_bits(&self, value: u128, bits: u32) -> u128 {
        let pad = u128::from_be_bytes(self.pad);
        let mut one_time_pad = 0u128;
        let mut block = GenericArray::default();
        for position in 0..bits {
            // The cipher input: the address's first `position` bits, then the pad.
            let keep = if position == 0 {
                0
            } else {
                u128::MAX << (128 - position)
            };
            let input = (value & keep) | (pad & !keep);
            block.copy_from_slice(&input.to_be_bytes());
            self.cipher.encrypt_block(&mut block);
            let bit = u128::from(block[0] >> 7);
            one_time_pad |= bit << (127 - position);
        }
        value ^ one_time_pad
    }

    /// The anonymized IPv4 address.
    pub fn ipv4(&self, address: Ipv4Addr) -> Ipv4Addr {
        let value = u128::from(u32::from(address)) << 96;
        Ipv4Addr::from((self.anonymize_bits(value, 32) >> 96) as u32)
    }

    /// The anonymized IPv6 address (the same construction over 128 bits, as the
    /// IPv6 extensions of Crypto-PAn define it).
    pub fn ipv6(&self, address: Ipv6Addr) -> Ipv6Addr {
        Ipv6Addr::from(self.anonymize_bits(u128::from(address), 128))
    }

    /// The anonymized address of either family.
    pub fn ip(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(a) => IpAddr::V4(self.ipv4(a)),
            IpAddr::V6(a) => IpAddr::V6(self.ipv6(a)),
        }
    }

    /// The anonymized 48-bit MAC address (flowq's extension: the same
    /// construction over 48 bits, so the vendor prefix of two addresses matches
    /// after anonymization exactly when it matched before).
    pub fn mac(&self, mac: [u8; 6]) -> [u8; 6] {
        let mut wide = [0u8; 16];
        wide[..6].copy_from_slice(&mac);
        let out = self
            .anonymize_bits(u128::from_be_bytes(wide), 48)
            .to_be_bytes();
        let mut result = [0u8; 6];
        result.copy_from_slice(&out[..6]);
        result
    }
}

fn parse_key_hex(hex: &str) -> anyhow::Result<[u8; 32]> {
    if hex.len() != 64 {
        bail!("found {} characters", hex.len());
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        let pair = &hex[2 * i..2 * i + 2];
        *byte = u8::from_str_radix(pair, 16)
            .map_err(|_| anyhow::anyhow!("`{pair}` is not hexadecimal"))?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of the Crypto-PAn reference distribution's sample trace.
    const REFERENCE_KEY: [u8; 32] = [
        21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16, 216, 152, 143, 131,
        121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2,
    ];

    /// The published vectors (IPv4 sample trace of the reference
    /// implementation, IPv4 and IPv6 vectors of other implementations).
    #[test]
    fn published_test_vectors() {
        let text = include_str!("../../testdata/cryptopan-vectors.tsv");
        let mut checked = (0, 0);
        for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [key, original, expected] = fields[..] else {
                panic!("bad vector line {line:?}");
            };
            let pan = CryptoPan::new(&parse_key_hex(key).unwrap());
            let original: IpAddr = original.parse().unwrap();
            let expected: IpAddr = expected.parse().unwrap();
            assert_eq!(pan.ip(original), expected, "{original} with key {key}");
            match original {
                IpAddr::V4(_) => checked.0 += 1,
                IpAddr::V6(_) => checked.1 += 1,
            }
        }
        assert_eq!(checked, (92, 11), "vectors read (IPv4, IPv6)");
    }

    #[test]
    fn prefixes_are_preserved() {
        let pan = CryptoPan::new(&REFERENCE_KEY);
        let a = pan.ipv4("10.1.2.3".parse().unwrap());
        let b = pan.ipv4("10.1.2.200".parse().unwrap());
        let c = pan.ipv4("10.1.130.3".parse().unwrap());
        let common = |x: Ipv4Addr, y: Ipv4Addr| (u32::from(x) ^ u32::from(y)).leading_zeros();
        assert_eq!(
            common(a, b),
            24,
            "same /24 in, same /24 out, differing at bit 25"
        );
        assert_eq!(common(a, c), 16);
        let m1 = pan.mac([0, 0x1b, 0x21, 1, 2, 3]);
        let m2 = pan.mac([0, 0x1b, 0x21, 9, 9, 9]);
        assert_eq!(m1[..3], m2[..3]);
        assert_ne!(m1, m2);
    }

    #[test]
    fn key_files_are_checked() {
        assert!(parse_key_hex(&"ab".repeat(32)).is_ok());
        assert!(parse_key_hex(&"ab".repeat(31)).is_err());
        assert!(parse_key_hex(&"zz".repeat(32)).is_err());
    }
}
