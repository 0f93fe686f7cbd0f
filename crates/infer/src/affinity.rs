//! Where the worker threads of a pass run: on Linux, each on a CPU of its
//! own.
//!
//! Why: the VMs this project is measured on run a guest kernel that packs
//! runnable threads onto as few vCPUs as it can (`sched_vcpu_pack` on its
//! command line). A thread spawned for a pass of a few milliseconds starts
//! on its parent's vCPU and waits there until the parent has taken every
//! span, so `infer sweep --threads 1,2` measured two threads at 1.00–1.07×
//! one (AMD Zen 4, 2026-12-07), while two one-thread processes, one on
//! each vCPU, each ran as fast as one alone. A throwaway program timed two
//! threads of 0.48 ms of work each: 0.95–1.05 ms left to the kernel, 0.61–0.76
//! ms with the new thread pinned to the other vCPU (the rest is waking
//! that vCPU). std spawns threads but cannot place them; `libc`'s
//! `sched_setaffinity` can (the README's dependency list).
//!
//! Measured with [`crate::model::in_spans`] pinning its workers, against
//! the build before, in turn (same CPU and day). While the kernel packed
//! threads, `taskset -c 0,1 infer sweep --batch-sizes 100 --threads 2
//! --repeat 5`, six rounds: 2.54–3.05M images/s (median 2.82M) against
//! 1.92–2.90M (1.99M: one thread's speed in four rounds of six), 1.35× in
//! the median of the rounds. While it did not, `--batch-sizes 1,100
//! --threads 1,2 --repeat 5`, nine rounds: two threads 1.92× one at batch
//! 100 against 1.89× (1.89× and 1.90× at batch 1): level.

/// The CPUs this process may run on, the one the calling thread is on now
/// left out, in order: one for each worker thread after the caller. Empty
/// off Linux, or if the kernel does not say.
pub fn other_cpus() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: cpu_set_t is plain bits, all-zero is the empty set;
        // sched_getaffinity writes at most size_of::<cpu_set_t>() bytes
        // into it; sched_getcpu takes nothing
        unsafe {
            let mut set: libc::cpu_set_t = core::mem::zeroed();
            if libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Vec::new();
            }
            let here = libc::sched_getcpu();
            (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set) && c as i32 != here).collect()
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Vec::new()
    }
}

/// Pins the calling thread to `cpu`; false where the kernel refused (a CPU
/// the process may not use) or off Linux.
pub fn pin_to(cpu: usize) -> bool {
    #[cfg(target_os = "linux")]
    {
        if cpu >= libc::CPU_SETSIZE as usize {
            return false;
        }
        // SAFETY: as in other_cpus; CPU_SET checked the index above
        unsafe {
            let mut set: libc::cpu_set_t = core::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpu;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread pinned to each CPU that the process may use (but the
    /// caller's) runs there, and the caller's CPU is not among them.
    #[test]
    fn a_thread_pinned_to_a_cpu_runs_there() {
        for cpu in other_cpus() {
            let ran_on = std::thread::spawn(move || {
                assert!(pin_to(cpu), "pinning to CPU {cpu}");
                // SAFETY: takes nothing
                #[cfg(target_os = "linux")]
                return unsafe { libc::sched_getcpu() };
                #[cfg(not(target_os = "linux"))]
                return -1;
            })
            .join()
            .unwrap();
            assert_eq!(ran_on, cpu as i32);
        }
        assert!(!pin_to(usize::MAX));
    }
}
