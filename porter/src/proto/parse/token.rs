//! Token helpers shared by the head parser, the body decoder and response
//! checks: `tchar` (RFC 9110 §5.6.2) and `1*DIGIT` numbers.

/// True for a `tchar` (RFC 9110 §5.6.2), the bytes of a token: methods,
/// field names, chunk extensions, and the names of headers handlers set.
#[inline]
pub fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
/// "_" / "`" / "|" / "~" / DIGIT / ALPHA` (RFC 9110 §5.6.2), one entry per byte.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0u8;
    loop {
        table[b as usize] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if b == u8::MAX {
            break table;
        }
        b += 1;
    }
};

/// `1*DIGIT` as a number; `None` if empty, not all digits, or above `u64::MAX`.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.is_ascii_digit().then(|| u64::from(b - b'0'))?;
        n.checked_mul(10)?.checked_add(digit)
    })
}
