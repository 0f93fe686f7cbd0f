//! Worker threads kept from one pass to the next, each pinned to a CPU.
//!
//! Why: [`crate::model::in_spans`] spawned its workers for every pass and
//! pinned each to a CPU of its own ([`crate::affinity`]), and on the VMs
//! this project is measured on that costs about as much as a pass's last
//! few percent. A throwaway program (AMD Zen 4, 2026-12-08, 2,000 cycles
//! of spawning a scoped thread and joining it, three rounds): 30–47 µs a
//! thread, 65–97 µs with the thread pinned to the other CPU. A pass over
//! the 10,000 test images at batch 100 takes about 2 ms on two threads,
//! and `taskset -c 0,1 infer sweep --batch-sizes 100 --threads 1,2` gave
//! two threads 1.15× one on the first 500 images, 1.62× on 2,000 and
//! 1.91–2.01× on all 10,000: a fixed cost of about 80 µs a pass. Here each
//! worker is spawned once, for the process, and waits for its next task;
//! it is pinned again only when it is asked for another CPU.
//!
//! Measured against the threads spawned for each pass (the same day and
//! CPU, the two builds in turn, `taskset -c 0,1 infer sweep --batch-sizes
//! 100 --threads 2 --repeat 21`): 1.02–1.03× on all 10,000 images (14
//! pairs of runs, each order; per pair 1.00–1.21×), and 94–114 µs a pass
//! of 200 images (`--limit 200 --repeat 51`, five pairs) against
//! 142–145 µs (one run at 99). Part of what remains is waking the other
//! vCPU, which a waiting thread needs too ([`crate::affinity`]'s probe).
//!
//! So a waiting thread, the worker for its next task and the caller for
//! the workers' ends, checks for its message in a loop for up to 100 µs
//! (`SPIN`) before it sleeps. Against the same pool sleeping at once
//! (AMD Zen 4, 2026-12-08, the two builds in turn, each first in every
//! other round, `taskset -c 0,1 infer sweep --batch-sizes 100 --threads 2
//! --repeat 25`): 1.011× (per round 0.94–1.02) in 15 rounds and 1.017×
//! (0.98–1.04) in 11 on all 10,000 images, 1.012× with batch 1 beside it
//! (`--batch-sizes 1,100 --repeat 15`, 11 rounds); on passes of 200
//! images (`--limit 200 --repeat 51`) 1.81× (per round 1.20–2.48) in 15
//! rounds, 40 µs a pass against 76. Beside the machine's own two cores in
//! the same rounds (`scripts/two-cores.sh 15`) the program's threads gave
//! 0.99× two processes (0.97× before).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, RecvError, Sender, TryRecvError};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// A task with its borrow's lifetime erased: see [`run_pinned`]'s SAFETY.
type Task = &'static (dyn Fn() + Sync);

/// One task for one worker, and the CPU to run it on.
struct Job {
    task: Task,
    cpu: usize,
}

/// A pooled thread: where its jobs go, and where it says each is done
/// (with the panic, if the task panicked).
struct Worker {
    jobs: Sender<Job>,
    done: Receiver<thread::Result<()>>,
}

/// The process's pooled threads. Held for the whole of a [`run_pinned`]
/// call, so calls from several threads take turns.
static POOL: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

impl Worker {
    fn spawn() -> Worker {
        let (jobs, incoming) = channel::<Job>();
        let (finished, done) = channel();
        thread::Builder::new()
            .name("infer-worker".to_string())
            .spawn(move || {
                let mut on = None;
                while let Ok(job) = recv_soon(&incoming) {
                    if on != Some(job.cpu) {
                        crate::affinity::pin_to(job.cpu);
                        on = Some(job.cpu);
                    }
                    let outcome = catch_unwind(AssertUnwindSafe(job.task));
                    if finished.send(outcome).is_err() {
                        return;
                    }
                }
            })
            .expect("spawning a worker thread");
        Worker { jobs, done }
    }
}

/// How long a waiting thread checks for its message before it sleeps.
const SPIN: Duration = Duration::from_micros(100);

/// The next message, checked for in a loop for up to [`SPIN`] before
/// sleeping until it comes. A thread that sleeps is woken by the sender
/// through the kernel, and on a VM whose vCPU has gone idle meanwhile
/// that takes tens of microseconds; a pass's work arrives, and its last
/// span ends, well within SPIN of the wait's start when passes follow
/// each other.
fn recv_soon<T>(from: &Receiver<T>) -> Result<T, RecvError> {
    let start = Instant::now();
    loop {
        match from.try_recv() {
            Ok(message) => return Ok(message),
            Err(TryRecvError::Disconnected) => return Err(RecvError),
            Err(TryRecvError::Empty) if start.elapsed() < SPIN => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => return from.recv(),
        }
    }
}

/// Waits for the first `sent` workers to finish their task, also when the
/// caller unwinds: until then they may be using what the task borrows.
struct Wait<'p> {
    workers: &'p [Worker],
    sent: usize,
}

impl Wait<'_> {
    /// Waits for every task sent, then resumes the first panic among them.
    fn all(mut self) {
        let mut panic = None;
        for worker in &self.workers[..self.sent] {
            // an Err here is a worker thread that has ended, so it is not
            // running the task either
            if let Ok(Err(p)) = recv_soon(&worker.done) {
                panic = panic.or(Some(p));
            }
        }
        self.sent = 0;
        if let Some(p) = panic {
            resume_unwind(p);
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        for worker in &self.workers[..self.sent] {
            let _ = worker.done.recv();
        }
    }
}

/// Runs `task` once on each of `cpus.len()` pooled threads, the `i`-th
/// pinned to `cpus[i]`, and `mine` on the calling thread meanwhile;
/// returns when all of them have returned. A panic in a pooled task is
/// resumed here once every task has finished; a panic in `mine` also
/// waits for them before it leaves.
pub fn run_pinned(cpus: &[usize], task: &(dyn Fn() + Sync), mine: impl FnOnce()) {
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    while pool.len() < cpus.len() {
        pool.push(Worker::spawn());
    }
    // SAFETY: only the jobs sent below see the erased lifetime, and `wait`
    // receives each one's completion before this function returns or
    // unwinds (`Wait::all`, else its Drop), so no pooled thread runs
    // `task` after the borrow it was given ends.
    let task: Task = unsafe { std::mem::transmute::<&(dyn Fn() + Sync), Task>(task) };
    let mut wait = Wait { workers: &pool, sent: 0 };
    for (worker, &cpu) in pool.iter().zip(cpus) {
        worker.jobs.send(Job { task, cpu }).expect("a pooled worker thread outlives its pool");
        wait.sent += 1;
    }
    mine();
    wait.all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Every pooled task and the caller's part run once a call, call after
    /// call, and a task's borrow of the caller's data is over when the call
    /// returns.
    #[test]
    fn each_task_runs_once_a_call() {
        let cpus = crate::affinity::other_cpus();
        for round in 1..=50 {
            let ran = AtomicUsize::new(0);
            let mut mine = 0;
            run_pinned(&cpus, &|| _ = ran.fetch_add(round, Ordering::Relaxed), || mine += 1);
            assert_eq!(ran.into_inner(), round * cpus.len());
            assert_eq!(mine, 1);
        }
    }

    /// A panic in a pooled task reaches the caller after the other tasks
    /// and the caller's part have finished, and the pool still works after.
    #[test]
    fn a_task_panic_is_resumed_in_the_caller() {
        let cpus = crate::affinity::other_cpus();
        if cpus.is_empty() {
            return;
        }
        let finished = AtomicUsize::new(0);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_pinned(
                &cpus,
                &|| {
                    finished.fetch_add(1, Ordering::Relaxed);
                    panic!("a task's panic");
                },
                || _ = finished.fetch_add(1, Ordering::Relaxed),
            )
        }));
        let message = outcome.expect_err("the task's panic reaches the caller");
        assert_eq!(message.downcast_ref::<&str>(), Some(&"a task's panic"));
        assert_eq!(finished.into_inner(), cpus.len() + 1);
        let ran = AtomicUsize::new(0);
        run_pinned(&cpus, &|| _ = ran.fetch_add(1, Ordering::Relaxed), || {});
        assert_eq!(ran.into_inner(), cpus.len());
    }
}
