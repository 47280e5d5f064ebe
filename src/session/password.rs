//! Session passwords: `new java.util.Random(sessionId ^ 0xB3415C00L).nextBytes(16)`, the exact
//! bytes Apache ZooKeeper derives, so a client reconnecting with a password issued by a Java
//! server (or a session restored from its snapshot) is accepted. Must not use any other
//! randomness: the password is a pure function of the session id.

/// Length of a session password on the wire (`ConnectResponse.passwd`).
pub const SESSION_PASSWORD_LEN: usize = 16;

/// ZooKeeper's fixed salt (`ZooKeeperServer.superSecret`).
const SUPER_SECRET: i64 = 0xB341_5C00;

/// The 16-byte password ZooKeeper issues for `session_id`.
pub fn session_password(session_id: i64) -> [u8; SESSION_PASSWORD_LEN] {
    let mut out = [0u8; SESSION_PASSWORD_LEN];
    JavaRandom::new(session_id ^ SUPER_SECRET).next_bytes(&mut out);
    out
}

/// `java.util.Random`: a 48-bit linear congruential generator (Knuth, TAOCP 3.2.1).
/// Only what the password needs is reproduced.
#[derive(Debug, Clone)]
pub struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new Random(seed)`: the seed is scrambled with the multiplier and cut to 48 bits.
    pub fn new(seed: i64) -> Self {
        Self {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    /// `Random.next(bits)`: advance the LCG and return its top `bits` bits as a signed int.
    fn next(&mut self, bits: u32) -> i32 {
        self.seed = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND) & MASK;
        (self.seed >> (48 - bits)) as i32
    }

    /// `Random.nextInt()`.
    pub fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// `Random.nextBytes`: each `nextInt()` fills up to four bytes, least significant first.
    pub fn next_bytes(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(4) {
            let mut rnd = self.next_int();
            for b in chunk {
                *b = rnd as u8;
                rnd >>= 8;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Golden bytes printed by a JDK 17 single-file program running
    /// `new java.util.Random(id ^ 0xB3415C00L).nextBytes(new byte[16])` for each id.
    const GOLDEN: &[(i64, [u8; 16])] = &[
        (
            0,
            [
                0xf2, 0x2a, 0xcd, 0x4a, 0x97, 0xe6, 0x9d, 0x6d, 0x20, 0xa4, 0x9b, 0xb6, 0x38, 0xea,
                0xdb, 0x38,
            ],
        ),
        (
            1,
            [
                0x05, 0x4c, 0xc7, 0x4a, 0x37, 0x32, 0x7d, 0xb2, 0x15, 0xe7, 0x02, 0xe2, 0x0c, 0x73,
                0xf0, 0x05,
            ],
        ),
        (
            111_452_695_219_666_944,
            [
                0xce, 0x09, 0x2a, 0x4b, 0x43, 0x72, 0x32, 0x40, 0x5c, 0xa4, 0xe7, 0xbf, 0xc4, 0xeb,
                0xbd, 0xb5,
            ],
        ),
        (
            i64::MAX,
            [
                0x20, 0xf6, 0x2c, 0xb5, 0x64, 0x8d, 0xc2, 0xd7, 0x71, 0x47, 0x1c, 0x8a, 0x24, 0x86,
                0xa9, 0xee,
            ],
        ),
        (
            -1,
            [
                0x20, 0xf6, 0x2c, 0xb5, 0x64, 0x8d, 0xc2, 0xd7, 0x71, 0x47, 0x1c, 0x8a, 0x24, 0x86,
                0xa9, 0xee,
            ],
        ),
        (
            0xB341_5C00,
            [
                0x60, 0xb4, 0x20, 0xbb, 0x38, 0x51, 0xd9, 0xd4, 0x7a, 0xcb, 0x93, 0x3d, 0xbe, 0x70,
                0x39, 0x9b,
            ],
        ),
        (
            72_057_594_037_927_936,
            [
                0xf2, 0x2a, 0xcd, 0x4a, 0x97, 0xe6, 0x9d, 0x6d, 0x20, 0xa4, 0x9b, 0xb6, 0x38, 0xea,
                0xdb, 0x38,
            ],
        ),
        (
            72_059_271_771_111_633,
            [
                0x22, 0xff, 0xae, 0x1c, 0x90, 0x12, 0x2d, 0x16, 0x76, 0x83, 0x46, 0x5c, 0x95, 0x7f,
                0xc9, 0x87,
            ],
        ),
    ];

    #[test]
    fn passwords_match_java() {
        for (id, want) in GOLDEN {
            assert_eq!(&session_password(*id), want, "session id {id}");
        }
    }

    #[test]
    fn only_low_48_bits_of_the_seed_matter() {
        // java.util.Random masks its seed to 48 bits, so ids differing only above bit 47 share
        // a password (the golden table shows it for 0 and 1<<56 too).
        assert_eq!(session_password(5), session_password(5 | (9 << 56)));
    }

    #[test]
    fn next_bytes_handles_partial_words() {
        let mut a = [0u8; 6];
        JavaRandom::new(42).next_bytes(&mut a);
        let mut r = JavaRandom::new(42);
        let w0 = r.next_int().to_le_bytes();
        let w1 = r.next_int().to_le_bytes();
        assert_eq!(a, [w0[0], w0[1], w0[2], w0[3], w1[0], w1[1]]);
    }
}
