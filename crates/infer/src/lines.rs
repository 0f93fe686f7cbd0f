//! Buffers that start on a cache line, for prepared weights.

/// `len` elements starting on a 64-byte boundary, a cache line. The vector
/// kernels load 32-byte vectors along rows of B (W1's rows are 224 bytes in
/// the AVX2 layout); from an address 16 bytes into a line, where the
/// allocator puts a large `Vec` on Linux, every other such load spans two
/// lines. Prepared weights on a line boundary against 16 bytes into one:
/// the whole f32 network 1.08× and 1.12× at batch 100, 1.07×, 1.09× and
/// 1.09× at batch 1; int8 1.05–1.07× at both (AMD EPYC Zen 3, two models in
/// one process timed in 11 alternating rounds, the same predictions).
#[derive(Debug)]
pub struct Lines<T> {
    buf: Vec<T>,
    start: usize,
    len: usize,
}

impl<T: Copy + Default> Lines<T> {
    /// `len` default values (zeros), the first on a 64-byte boundary.
    pub fn zeroed(len: usize) -> Lines<T> {
        let per_line = (64 / core::mem::size_of::<T>().max(1)).max(1);
        let buf = vec![T::default(); len + per_line - 1];
        // align_offset may decline (usize::MAX); then the buffer works,
        // only unaligned
        let start = Some(buf.as_ptr().align_offset(64)).filter(|&s| s < per_line).unwrap_or(0);
        Lines { buf, start, len }
    }

    /// The elements.
    pub fn get(&self) -> &[T] {
        &self.buf[self.start..self.start + self.len]
    }

    /// The elements, to write.
    pub fn get_mut(&mut self) -> &mut [T] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

impl<T: Copy + Default> Clone for Lines<T> {
    /// A copy on a boundary of its own (a cloned `Vec` may start anywhere).
    fn clone(&self) -> Lines<T> {
        let mut copy = Lines::zeroed(self.len);
        copy.get_mut().copy_from_slice(self.get());
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn starts_on_a_line_and_clones_onto_one() {
        for len in [0, 1, 15, 16, 17, 43_904] {
            let mut w = Lines::<f32>::zeroed(len);
            assert_eq!(w.get().len(), len);
            assert_eq!(w.get().as_ptr() as usize % 64, 0, "len {len}");
            assert!(w.get().iter().all(|&x| x == 0.0));
            for (i, x) in w.get_mut().iter_mut().enumerate() {
                *x = i as f32;
            }
            let copy = w.clone();
            assert_eq!(copy.get().as_ptr() as usize % 64, 0);
            assert_eq!(copy.get(), w.get());
        }
        let q = Lines::<i16>::zeroed(1001);
        assert_eq!((q.get().as_ptr() as usize % 64, q.get().len()), (0, 1001));
        let v = Lines::<u32>::zeroed(7);
        assert_eq!((v.get().as_ptr() as usize % 64, v.get().len()), (0, 7));
    }
}
