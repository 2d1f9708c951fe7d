//! A codec target's input: a few parameter bytes, the sizes of the reads
//! the bytes arrive in, then the bytes.
//!
//! ```text
//! input  = params reads data
//! params = P bytes                 ; the target's own (limits, say)
//! reads  = count 0*15(size)        ; count's low 4 bits say how many sizes
//! data   = *OCTET                  ; what the peer sent
//! ```
//!
//! The read sizes are used in turn, over and over, until the data runs out
//! (a size of 0 counts as 1: a socket read returns at least one byte); with
//! none, the data arrives in one read. A plain format rather than
//! `arbitrary`, so that a seed is a short header and readable protocol text.

/// A fuzz input read as parameters, read sizes and data.
#[derive(Debug, Clone, Copy)]
pub struct Pieces<'a, const P: usize> {
    /// The target's parameter bytes.
    pub params: [u8; P],
    /// The size of each read, cycled.
    sizes: &'a [u8],
    /// The bytes the peer sent, in order.
    pub data: &'a [u8],
}

impl<'a, const P: usize> Pieces<'a, P> {
    /// Reads `input`; `None` if it is too short to hold the parameters.
    pub fn parse(input: &'a [u8]) -> Option<Self> {
        let (params, rest) = input.split_first_chunk::<P>()?;
        let (&count, rest) = rest.split_first()?;
        let count = usize::from(count & 0x0f).min(rest.len());
        let (sizes, data) = rest.split_at(count);
        Some(Pieces {
            params: *params,
            sizes,
            data,
        })
    }

    /// The data as the reads deliver it.
    pub fn reads(&self) -> Vec<&'a [u8]> {
        let mut reads = Vec::new();
        let mut rest = self.data;
        let mut sizes = self.sizes.iter().cycle();
        while !rest.is_empty() {
            let size = sizes
                .next()
                .map_or(rest.len(), |&s| usize::from(s.max(1)).min(rest.len()));
            let (now, later) = rest.split_at(size);
            reads.push(now);
            rest = later;
        }
        reads
    }
}
