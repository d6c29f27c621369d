//! A fast JSON deserializer for the common shape of PAPI answers, used before `serde_json`
//! and only trusted when it succeeds.
//!
//! Why: a job, policy or report body carries ~60–100 fields the orchestrator never reads;
//! `serde_json` skipping them (a key parsed through its scratch buffer, a value ignored
//! through its general machinery) was about half of the orchestrator's own CPU in a
//! campaign. This reader handles a strict subset of JSON — strings without escapes or
//! control characters, non-negative integers that fit a `u64` (any number where the value
//! is ignored, as `serde_json` checks only its grammar then), `true`/`false`/`null`,
//! objects and arrays nested less than [`MAX_DEPTH`] deep — and declines (with an error
//! whose text nobody sees) everything else: escapes, negative or fractional numbers,
//! enums, byte strings, 128-bit integers, `serde_json`'s private tokens.
//!
//! The contract, which the callers rely on: whenever this reader succeeds, `serde_json`
//! reading the same text into the same type succeeds with the same value (it reports the
//! same visitor calls in the same order: borrowed strings, `u64`s, maps, sequences,
//! options, ignored values); whenever it fails, the caller reads the text again with
//! `serde_json`, whose value or error (with its wording and position) is the answer. So the
//! results and error messages are exactly `serde_json`'s, only faster on the usual bodies.

use serde::de::{self, DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};

/// Deeper nesting is declined (`serde_json` refuses 128 levels; this stays well below).
const MAX_DEPTH: u32 = 64;

type Error = serde_json::Error;

/// The error of a declined or malformed text: never shown, the caller falls back.
#[cold]
fn decline() -> Error {
    Error::custom("fast JSON path declined")
}

/// Bytes that end the fast scan of a string: the closing quote, a backslash (escapes are
/// left to `serde_json`) and the control characters JSON forbids in strings.
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Reads one JSON text (see the module doc for what it accepts).
pub(crate) struct Deserializer<'a> {
    src: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Deserializer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Deserializer {
            src,
            pos: 0,
            depth: 0,
        }
    }

    /// Only whitespace may follow the value (as `serde_json::Deserializer::end`).
    pub(crate) fn end(&mut self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(decline()),
        }
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    /// The next byte after whitespace (JSON's four whitespace bytes, as `serde_json`).
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let b = self.bytes();
        while let Some(&c) = b.get(self.pos) {
            match c {
                b' ' | b'\n' | b'\t' | b'\r' => self.pos += 1,
                _ => return Some(c),
            }
        }
        None
    }

    /// A string's contents; `pos` is just after its opening quote.
    #[inline]
    fn string(&mut self) -> Result<&'a str, Error> {
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        // Eight bytes at a time up to the first that may stop the scan (as `serde_json`
        // scans): the lowest flagged byte is exact, later flags may be borrows.
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        while let Some(chunk) = b.get(i..i + 8) {
            let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            let quote = x ^ (ONES * u64::from(b'"'));
            let slash = x ^ (ONES * u64::from(b'\\'));
            let flags = (quote.wrapping_sub(ONES) & !quote)
                | (slash.wrapping_sub(ONES) & !slash)
                | (x.wrapping_sub(ONES * 0x20) & !x);
            let flags = flags & HIGH;
            if flags != 0 {
                i += (flags.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            if STOP[c as usize] {
                if c == b'"' {
                    self.pos = i + 1;
                    // Both ends are ASCII quotes of a `str`: char boundaries.
                    return Ok(&self.src[start..i]);
                }
                return Err(decline());
            }
            i += 1;
        }
        Err(decline())
    }

    /// A non-negative integer that fits a `u64`, not followed by a fraction or exponent
    /// (those, negatives and leading zeros are `serde_json`'s to read or refuse).
    #[inline]
    fn integer(&mut self) -> Result<u64, Error> {
        let b = self.bytes();
        let mut i = self.pos;
        let mut n: u64 = match b.get(i) {
            Some(&c @ b'0'..=b'9') => u64::from(c - b'0'),
            _ => return Err(decline()),
        };
        i += 1;
        if n == 0 {
            if matches!(b.get(i), Some(b'0'..=b'9')) {
                return Err(decline());
            }
        } else {
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(c - b'0')))
                    .ok_or_else(decline)?;
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
            return Err(decline());
        }
        self.pos = i;
        Ok(n)
    }

    /// Skip any number, checked as `serde_json` checks a number it ignores (the grammar
    /// only: an ignored number is not parsed, so no range or precision applies).
    fn skip_number(&mut self) -> Result<(), Error> {
        let b = self.bytes();
        let digit = |i: usize| matches!(b.get(i), Some(b'0'..=b'9'));
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if digit(i) {
                    return Err(decline());
                }
            }
            Some(b'1'..=b'9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            _ => return Err(decline()),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digit(i) {
                return Err(decline());
            }
            while digit(i) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digit(i) {
                return Err(decline());
            }
            while digit(i) {
                i += 1;
            }
        }
        self.pos = i;
        Ok(())
    }

    /// `word` (a literal whose first byte was peeked).
    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<(), Error> {
        if self.bytes()[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(decline())
        }
    }

    #[inline]
    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(decline());
        }
        self.pos += 1;
        Ok(())
    }

    /// Consume `close` (after whitespace) and leave one level.
    #[inline]
    fn leave(&mut self, close: u8) -> Result<(), Error> {
        if self.peek() != Some(close) {
            return Err(decline());
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(())
    }

    /// Skip one value, checking it as strictly as the accepted subset requires.
    fn skip(&mut self) -> Result<(), Error> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string().map(|_| ())
            }
            Some(b'-' | b'0'..=b'9') => self.skip_number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'{') => {
                self.enter()?;
                if self.peek() != Some(b'}') {
                    loop {
                        if self.peek() != Some(b'"') {
                            return Err(decline());
                        }
                        self.pos += 1;
                        self.string()?;
                        if self.peek() != Some(b':') {
                            return Err(decline());
                        }
                        self.pos += 1;
                        self.skip()?;
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            _ => break,
                        }
                    }
                }
                self.leave(b'}')
            }
            Some(b'[') => {
                self.enter()?;
                if self.peek() != Some(b']') {
                    loop {
                        self.skip()?;
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            _ => break,
                        }
                    }
                }
                self.leave(b']')
            }
            _ => Err(decline()),
        }
    }
}

impl<'de, 'a: 'de> de::Deserializer<'de> for &mut Deserializer<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                let s = self.string()?;
                visitor.visit_borrowed_str(s)
            }
            Some(b'0'..=b'9') => {
                let n = self.integer()?;
                visitor.visit_u64(n)
            }
            Some(b't') => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            Some(b'{') => {
                self.enter()?;
                let v = visitor.visit_map(Map {
                    de: &mut *self,
                    first: true,
                })?;
                self.leave(b'}')?;
                Ok(v)
            }
            Some(b'[') => {
                self.enter()?;
                let v = visitor.visit_seq(Seq {
                    de: &mut *self,
                    first: true,
                })?;
                self.leave(b']')?;
                Ok(v)
            }
            _ => Err(decline()),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skip()?;
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        // `serde_json` reads its private raw-value token here: left to it.
        if name.starts_with('$') {
            return Err(decline());
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(decline())
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(decline())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(decline())
    }

    fn deserialize_i128<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(decline())
    }

    fn deserialize_u128<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(decline())
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 char str string unit unit_struct seq
        tuple tuple_struct map struct identifier
    }
}

/// The entries of an object being read.
struct Map<'b, 'a> {
    de: &'b mut Deserializer<'a>,
    first: bool,
}

impl<'de, 'a: 'de> MapAccess<'de> for Map<'_, 'a> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let mut c = self.de.peek();
        if self.first {
            self.first = false;
        } else {
            match c {
                Some(b',') => {
                    self.de.pos += 1;
                    c = self.de.peek();
                    if c != Some(b'"') {
                        return Err(decline());
                    }
                }
                _ => return Ok(None),
            }
        }
        match c {
            Some(b'"') => {
                self.de.pos += 1;
                let k = self.de.string()?;
                // `serde_json`'s private number and raw-value tokens: left to it.
                if k.starts_with('$') {
                    return Err(decline());
                }
                seed.deserialize(de::value::BorrowedStrDeserializer::<Error>::new(k))
                    .map(Some)
            }
            // The closing brace (or anything else) is checked by the object's reader.
            _ => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        if self.de.peek() != Some(b':') {
            return Err(decline());
        }
        self.de.pos += 1;
        seed.deserialize(&mut *self.de)
    }
}

/// The elements of an array being read.
struct Seq<'b, 'a> {
    de: &'b mut Deserializer<'a>,
    first: bool,
}

impl<'de, 'a: 'de> SeqAccess<'de> for Seq<'_, 'a> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let c = self.de.peek();
        if self.first {
            self.first = false;
            if c == Some(b']') {
                return Ok(None);
            }
        } else {
            match c {
                Some(b',') => self.de.pos += 1,
                // The closing bracket (or anything else) is checked by the array's reader.
                _ => return Ok(None),
            }
        }
        seed.deserialize(&mut *self.de).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    /// Whatever the fast reader accepts, `serde_json` reads the same.
    fn agrees<T: for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(text: &str) -> bool {
        let mut de = Deserializer::new(text);
        let fast = T::deserialize(&mut de).and_then(|v| de.end().map(|()| v));
        match fast {
            Ok(v) => {
                let slow: T = serde_json::from_str(text).expect("serde_json accepts it too");
                assert_eq!(v, slow, "{text}");
                true
            }
            Err(_) => false,
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Job {
        id: String,
        #[serde(default)]
        action: Option<String>,
        state: String,
        #[serde(default)]
        n: Option<u64>,
        #[serde(default)]
        list: Vec<String>,
    }

    #[test]
    fn reads_the_usual_shapes() {
        assert!(agrees::<Value>(
            r#" {"a": [1, 0, true, false, null, "x", {"b": {}}, []], "c": "/ifs/a b"} "#
        ));
        assert!(agrees::<Job>(
            r#"{"id":"j","state":"running","action":null,"x":{"y":[1,2,{"z":null}]},"n":18446744073709551615,"list":["a"]}"#
        ));
        assert!(agrees::<Vec<Option<u32>>>("[null, 3]"));
        // An ignored number is only checked, whatever its sign, fraction or exponent.
        assert!(agrees::<Job>(
            r#"{"id":"j","state":"s","r":-0.5e+3,"q":[0.0,-7,1E9,12.25]}"#
        ));
    }

    #[test]
    fn declines_what_it_does_not_read() {
        for text in [
            r#""a\"b""#,
            "-1",
            "1.5",
            r#"{"id":"j","state":"s","x":1.}"#,
            r#"{"id":"j","state":"s","x":-}"#,
            r#"{"id":"j","state":"s","x":1e}"#,
            r#"{"id":"j","state":"s","x":00}"#,
            "1e3",
            "01",
            "18446744073709551616",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "[1 2]",
            "tru",
            "\"a\u{1}\"",
            r#"{"$serde_json::private::Number":"1"}"#,
            "{} x",
            "",
            &"[".repeat(70),
        ] {
            assert!(!agrees::<Value>(text), "{text:?}");
        }
        // Malformed numbers are refused where they are only skipped, too.
        for text in [
            r#"{"id":"j","state":"s","x":1.}"#,
            r#"{"id":"j","state":"s","x":-}"#,
            r#"{"id":"j","state":"s","x":1e}"#,
            r#"{"id":"j","state":"s","x":00}"#,
            r#"{"id":"j","state":"s","x":-01}"#,
            r#"{"id":"j","state":"s","x":.5}"#,
        ] {
            assert!(!agrees::<Job>(text), "{text:?}");
        }
        // A duplicate field is the struct's own error, as with `serde_json`.
        assert!(!agrees::<Job>(r#"{"id":"a","id":"b","state":"s"}"#));
        // A struct that does not read every entry is not mistaken for a whole object.
        assert!(!agrees::<Job>(r#"{"state":"s"}"#));
    }

    fn json() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("0".to_string()),
            Just("-3".to_string()),
            Just("2.5".to_string()),
            Just("007".to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            "[a-z \\\\\"/]{0,4}".prop_map(|s| format!("\"{s}\"")),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("(id|state|action|n|list|[a-z]{1,2})", inner), 0..4)
                    .prop_map(|v| {
                        let fields: Vec<String> = v
                            .into_iter()
                            .map(|(k, v)| format!("\"{k}\" : {v}"))
                            .collect();
                        format!("{{ {} }}", fields.join(" ,"))
                    }),
            ]
        })
    }

    proptest! {
        /// On random texts (well-formed or not), an accepted text reads as `serde_json`
        /// reads it, as a `Value` and as a struct.
        #[test]
        fn accepted_means_serde_json_agrees(text in json(), cut in any::<prop::sample::Index>(), damage in any::<bool>()) {
            // Every generated byte is ASCII: any cut is a char boundary.
            let text = if damage { text[..cut.index(text.len() + 1)].to_string() } else { text };
            agrees::<Value>(&text);
            agrees::<Job>(&text);
            agrees::<Vec<Job>>(&text);
        }
    }
}
