//! Making a fresh buffer's pages present in one system call. A buffer of megabytes that is then
//! written front to back (a script read from its file, the check pass's tape) otherwise takes one
//! page fault per 4 KiB; on a script of 100,000 lines those faults are several percent of the run.

/// Makes the pages wholly inside `buf`'s first `len` bytes of spare capacity present, as writing to
/// them would. Best effort: a kernel without `MADV_POPULATE_WRITE` (before 5.14) says EINVAL, and
/// the pages then come one fault at a time as before.
pub fn populate(buf: &mut Vec<u8>, len: usize) {
    const PAGE: usize = 4096;
    let len = len.min(buf.capacity() - buf.len());
    let spare = buf.spare_capacity_mut().as_mut_ptr() as usize;
    let start = spare.next_multiple_of(PAGE);
    let end = (spare + len) & !(PAGE - 1);
    if end > start {
        // SAFETY: the range lies inside the buffer's own allocation, and POPULATE_WRITE only makes
        // its pages present, without changing what they hold
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end - start,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
}
