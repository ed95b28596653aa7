//! Who runs next when more guests are runnable than there are cores: a
//! source that wakes from a wait runs before the guests that are busy.
//!
//! tokio has no priorities. A busy guest yields at the end of its `cpu`
//! slice and goes to the back of the line; a worker looks at its timers
//! and sockets only once its queue is empty. Round robin alone made a
//! source that sleeps between posts wait for every busy guest ahead of it,
//! once to be woken and once more to run. So:
//!
//! - every wait of a guest in a host call goes through [`Turns::wait`],
//!   whose waker counts the source as woken until its task is polled
//!   again (or the wait is dropped: the count cannot leak);
//! - a wait with a known end (the host `sleep`) also registers that
//!   moment ([`Turns::wait_until`]), because the runtime's timer only
//!   fires once a worker gets round to its timers, which busy guests
//!   delay;
//! - a busy guest (one that ran a whole slice since it last rested) is
//!   looked at every [`FINE_TICK`] ([`at_epoch`]): while a source is woken
//!   or due, it steps aside (yields) at once instead of running out its
//!   slice, so the worker gets to its timers and to the
//!   woken source within about a tick. A guest that stepped aside
//!   [`MAX_STEP_ASIDE`] times in a row runs for a tick, so that a flood of
//!   wake-ups cannot starve it;
//! - the slice a guest has used shrinks by the time it rested, so a source
//!   that waits more than it runs is not sent to the back of the line for
//!   the little it ran.
//!
//! The epoch ticks every [`FINE_TICK`] only while some guest is busy, and
//! every [`COARSE_TICK`] otherwise, so idle sources cost no more than
//! before.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};
use std::sync::atomic::{AtomicIsize, AtomicU8, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// The epoch tick while some guest is busy: how soon a busy guest notices
/// that a woken source waits.
pub const FINE_TICK: Duration = Duration::from_millis(1);

/// The epoch tick while no guest is busy (and the unit of `cpu` slices).
pub const COARSE_TICK: Duration = Duration::from_millis(10);

/// How long after a guest's last tick it still counts as busy.
const BUSY_FOR: Duration = Duration::from_millis(20);

/// How many times in a row a guest steps aside before it runs one tick
/// whatever waits.
pub const MAX_STEP_ASIDE: u32 = 3;

/// The runtime's timer fires at the first millisecond of its clock at or
/// after a deadline; a registered deadline counts as due this much later,
/// so that busy guests do not step aside before the timer can fire.
const DUE_SLACK: Duration = Duration::from_millis(1);

/// The process's scheduling state, shared by every source.
pub static TURNS: Turns = Turns::new();

/// Microseconds since the first call, on the monotonic clock.
fn micros(at: Instant) -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(start).as_micros()).unwrap_or(u64::MAX)
}

fn now_us() -> u64 {
    micros(Instant::now())
}

/// Sources that are woken and not yet running, and the moments at which
/// sleeping ones are due.
pub struct Turns {
    /// Waits whose waker fired and whose task has not been polled since.
    /// Signed: a decrement may overtake its increment for an instant.
    woken: AtomicIsize,
    /// Registered deadlines (µs, id), and the earliest of them (u64::MAX:
    /// none), read without the lock at every tick of a busy guest.
    due: Mutex<BTreeMap<(u64, u64), ()>>,
    next_due: AtomicU64,
    next_id: AtomicU64,
    /// When a busy guest last reached a tick (µs).
    last_busy: AtomicU64,
}

impl Default for Turns {
    fn default() -> Self {
        Self::new()
    }
}

impl Turns {
    pub const fn new() -> Self {
        Self {
            woken: AtomicIsize::new(0),
            due: Mutex::new(BTreeMap::new()),
            next_due: AtomicU64::new(u64::MAX),
            next_id: AtomicU64::new(0),
            last_busy: AtomicU64::new(0),
        }
    }

    /// A source is woken and waits for a core, or a registered wait is due.
    pub fn someone_waits(&self) -> bool {
        self.woken.load(SeqCst) > 0 || self.next_due.load(Relaxed) <= now_us()
    }

    /// How long the epoch ticker sleeps before its next tick.
    pub fn tick_period(&self) -> Duration {
        let idle = now_us().saturating_sub(self.last_busy.load(Relaxed));
        if Duration::from_micros(idle) < BUSY_FOR {
            FINE_TICK
        } else {
            COARSE_TICK
        }
    }

    /// Awaits `fut`, a wait of the guest whose slice is `slice`: while its
    /// waker has fired and its task has not run, busy guests step aside.
    /// The time it waited is taken off the slice the guest has used.
    pub async fn wait<F: Future>(&'static self, slice: &mut Slice, fut: F) -> F::Output {
        let mut fut = pin!(fut);
        let mut watch = Watch {
            turns: self,
            mark: None,
        };
        let out = std::future::poll_fn(|cx| watch.poll(fut.as_mut(), cx)).await;
        if let Some(w) = &watch.mark {
            slice.rested(w.since.elapsed());
        }
        out
    }

    /// Like [`Self::wait`], for a wait that ends by itself at `at`: from
    /// then on busy guests step aside even before the runtime's timer has
    /// fired.
    pub async fn wait_until<F: Future>(
        &'static self,
        slice: &mut Slice,
        at: Instant,
        fut: F,
    ) -> F::Output {
        let _due = self.register_due(at + DUE_SLACK);
        self.wait(slice, fut).await
    }

    fn register_due(&'static self, at: Instant) -> Due {
        let key = (micros(at), self.next_id.fetch_add(1, Relaxed));
        let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        due.insert(key, ());
        self.next_due.fetch_min(key.0, SeqCst);
        Due { turns: self, key }
    }
}

/// A registered deadline, withdrawn when the wait ends or is dropped.
struct Due {
    turns: &'static Turns,
    key: (u64, u64),
}

impl Drop for Due {
    fn drop(&mut self) {
        let mut due = self.turns.due.lock().unwrap_or_else(|e| e.into_inner());
        due.remove(&self.key);
        let next = due.keys().next().map_or(u64::MAX, |k| k.0);
        self.turns.next_due.store(next, SeqCst);
    }
}

const IDLE: u8 = 0;
const WAITING: u8 = 1;
const WOKEN: u8 = 2;

/// The waker a wait's future gets: it counts the source as woken (once
/// per wake-up, only while a wait is in progress), then wakes the task.
struct Mark {
    turns: &'static Turns,
    state: AtomicU8,
    task: Mutex<Waker>,
}

impl Mark {
    /// Leaves `WOKEN` for `to`, uncounting the wake-up.
    fn settle(&self, to: u8) {
        if self.state.swap(to, AcqRel) == WOKEN {
            self.turns.woken.fetch_sub(1, SeqCst);
        }
    }
}

impl Wake for Mark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self
            .state
            .compare_exchange(WAITING, WOKEN, AcqRel, Acquire)
            .is_ok()
        {
            self.turns.woken.fetch_add(1, SeqCst);
        }
        self.task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake_by_ref();
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        self.settle(IDLE);
    }
}

/// A wait in progress; made only once the wait's future is pending, so
/// that a host call that does not wait costs nothing here.
struct Watching {
    mark: Arc<Mark>,
    waker: Waker,
    since: Instant,
}

struct Watch {
    turns: &'static Turns,
    mark: Option<Watching>,
}

impl Watch {
    fn poll<F: Future>(&mut self, mut fut: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let w = match &mut self.mark {
            Some(w) => {
                // The task runs: the wake-up, if any, has had its turn.
                w.mark.settle(WAITING);
                {
                    let mut task = w.mark.task.lock().unwrap_or_else(|e| e.into_inner());
                    if !task.will_wake(cx.waker()) {
                        task.clone_from(cx.waker());
                    }
                }
                w
            }
            None => {
                if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                    return Poll::Ready(out);
                }
                let mark = Arc::new(Mark {
                    turns: self.turns,
                    state: AtomicU8::new(WAITING),
                    task: Mutex::new(cx.waker().clone()),
                });
                // Polled again at once, so that the future holds the
                // counting waker: a future wakes the waker of its last poll.
                self.mark.insert(Watching {
                    waker: Waker::from(mark.clone()),
                    mark,
                    since: Instant::now(),
                })
            }
        };
        let out = fut.poll(&mut Context::from_waker(&w.waker));
        if out.is_ready() {
            w.mark.settle(IDLE);
        }
        out
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(w) = &self.mark {
            w.mark.settle(IDLE);
        }
    }
}

/// A guest's use of its `cpu` slice, as seen at the epoch ticks while it
/// runs.
#[derive(Debug)]
pub struct Slice {
    length_us: u64,
    used_us: u64,
    /// Run time not paid back by rests, up to one slice; the slice
    /// yields do not reset it. At a whole slice the guest is busy: it
    /// steps aside for woken sources. Below, it is one of them (a
    /// source that rests more than it runs), and runs out its slice.
    unrested_us: u64,
    /// When the guest was last seen at a tick.
    last_us: Option<u64>,
    /// Time spent in waits since then.
    rested_us: u64,
    /// It yielded since then: the time in between it waited for a core.
    yielded: bool,
    /// It stepped aside at its last ticks without running in between.
    stepped_aside: u32,
    /// Run time not yet counted in whole milliseconds.
    unreported_us: u64,
}

impl Slice {
    pub fn new(length: Duration) -> Self {
        Self {
            length_us: u64::try_from(length.as_micros()).unwrap_or(u64::MAX),
            used_us: 0,
            unrested_us: 0,
            last_us: None,
            rested_us: 0,
            yielded: false,
            stepped_aside: 0,
            unreported_us: 0,
        }
    }

    /// The guest waited for `d` since its last tick.
    pub fn rested(&mut self, d: Duration) {
        let d = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.rested_us = self.rested_us.saturating_add(d);
    }

    /// The guest was found running at an epoch tick at `now_us`: whether it
    /// goes on or yields, and how many whole milliseconds it ran since the
    /// last tick.
    pub fn at_tick(&mut self, turns: &Turns, now_us: u64) -> (Turn, u64) {
        turns.last_busy.fetch_max(now_us, Relaxed);
        let gap = self.last_us.map_or(0, |l| now_us.saturating_sub(l));
        self.last_us = Some(now_us);
        let rested = std::mem::take(&mut self.rested_us).min(gap);
        let yielded = std::mem::take(&mut self.yielded);
        let ran = if yielded { 0 } else { gap - rested };
        self.used_us = (self.used_us + ran).saturating_sub(rested);
        self.unrested_us = (self.unrested_us + ran)
            .saturating_sub(rested)
            .min(self.length_us);
        self.unreported_us += ran;
        let ran_ms = self.unreported_us / 1000;
        self.unreported_us %= 1000;
        // It ran through the tick before this one: the steps aside before
        // that were not in a row.
        if !yielded && rested == 0 {
            self.stepped_aside = 0;
        }
        let turn = if self.used_us >= self.length_us {
            self.used_us = 0;
            self.stepped_aside = 0;
            Turn::Yield
        } else if self.unrested_us >= self.length_us
            && self.stepped_aside < MAX_STEP_ASIDE
            && turns.someone_waits()
        {
            self.stepped_aside += 1;
            Turn::Yield
        } else {
            Turn::Run
        };
        if turn == Turn::Yield {
            self.yielded = true;
        }
        (turn, ran_ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Go on until the next tick.
    Run,
    /// Yield to the executor, to the back of the line.
    Yield,
}

/// What a store's epoch deadline callback does: goes on for a tick, or
/// yields with tokio's `yield_now` (not wasmtime's own yield: a task that
/// wakes itself goes back to the front of its worker's queue, and the
/// worker would look at its timers and sockets only every 61 polls;
/// yield_now's wake-up waits until the worker has looked at them). After
/// a yield the deadline is the current epoch, so the guest is looked at
/// again as soon as it runs. `busy_ms` counts the time it ran.
pub fn at_epoch(slice: &mut Slice, busy_ms: &AtomicU64) -> wasmtime::UpdateDeadline {
    let (turn, ran_ms) = slice.at_tick(&TURNS, now_us());
    if ran_ms > 0 {
        busy_ms.fetch_add(ran_ms, Relaxed);
    }
    match turn {
        Turn::Run => wasmtime::UpdateDeadline::Continue(1),
        Turn::Yield => wasmtime::UpdateDeadline::YieldCustom(0, Box::pin(tokio::task::yield_now())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn turns() -> &'static Turns {
        Box::leak(Box::new(Turns::new()))
    }

    /// A waker that counts its wake-ups.
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn poll_once<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(waker))
    }

    /// A future that is pending until its flag is set, and hands out the
    /// waker of its last poll.
    #[derive(Default)]
    struct Gate {
        open: std::sync::atomic::AtomicBool,
        waker: Mutex<Option<Waker>>,
    }
    impl Gate {
        fn wait(&self) -> impl Future<Output = ()> + '_ {
            std::future::poll_fn(|cx| {
                if self.open.load(SeqCst) {
                    return Poll::Ready(());
                }
                *self.waker.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            })
        }
        fn open(&self) {
            self.open.store(true, SeqCst);
            if let Some(w) = self.waker.lock().unwrap().take() {
                w.wake();
            }
        }
        fn wake_stale(&self) {
            if let Some(w) = self.waker.lock().unwrap().as_ref() {
                w.wake_by_ref();
            }
        }
    }

    #[test]
    fn a_wake_up_counts_until_the_task_runs() {
        let t = turns();
        let gate = Gate::default();
        let task = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(task.clone());
        let mut slice = Slice::new(COARSE_TICK);
        let mut fut = pin!(t.wait(&mut slice, gate.wait()));
        assert!(poll_once(fut.as_mut(), &waker).is_pending());
        assert!(!t.someone_waits());
        gate.open();
        assert_eq!(task.0.load(SeqCst), 1, "the task is woken");
        assert!(t.someone_waits());
        assert!(poll_once(fut.as_mut(), &waker).is_ready());
        assert!(!t.someone_waits());
        assert_eq!(t.woken.load(SeqCst), 0);
    }

    #[test]
    fn a_wait_that_does_not_pend_is_not_watched() {
        let t = turns();
        let task = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(task);
        let mut slice = Slice::new(COARSE_TICK);
        {
            let mut fut = pin!(t.wait(&mut slice, std::future::ready(7)));
            assert_eq!(poll_once(fut.as_mut(), &waker), Poll::Ready(7));
        }
        assert_eq!(slice.rested_us, 0);
    }

    #[test]
    fn a_dropped_wait_leaves_no_count_behind() {
        let t = turns();
        let gate = Gate::default();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut slice = Slice::new(COARSE_TICK);
        {
            let mut fut = Box::pin(t.wait(&mut slice, gate.wait()));
            assert!(poll_once(fut.as_mut(), &waker).is_pending());
            gate.wake_stale();
            assert!(t.someone_waits());
        }
        assert!(!t.someone_waits(), "dropping a woken wait uncounts it");
        // The future's copy of the waker outlives the wait: waking it
        // again counts nothing.
        gate.wake_stale();
        gate.wake_stale();
        assert_eq!(t.woken.load(SeqCst), 0);
    }

    #[test]
    fn many_wake_ups_before_the_task_runs_count_once() {
        let t = turns();
        let gate = Gate::default();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut slice = Slice::new(COARSE_TICK);
        let mut fut = pin!(t.wait(&mut slice, gate.wait()));
        assert!(poll_once(fut.as_mut(), &waker).is_pending());
        for _ in 0..5 {
            gate.wake_stale();
        }
        assert_eq!(t.woken.load(SeqCst), 1);
        // Polled but still pending: uncounted, and counted again at the
        // next wake-up.
        assert!(poll_once(fut.as_mut(), &waker).is_pending());
        assert_eq!(t.woken.load(SeqCst), 0);
        gate.wake_stale();
        assert_eq!(t.woken.load(SeqCst), 1);
        gate.open();
        assert!(poll_once(fut.as_mut(), &waker).is_ready());
        assert_eq!(t.woken.load(SeqCst), 0);
    }

    #[test]
    fn the_latest_task_waker_is_the_one_woken() {
        let t = turns();
        let gate = Gate::default();
        let first = Arc::new(Count(AtomicUsize::new(0)));
        let second = Arc::new(Count(AtomicUsize::new(0)));
        let mut slice = Slice::new(COARSE_TICK);
        let mut fut = pin!(t.wait(&mut slice, gate.wait()));
        assert!(poll_once(fut.as_mut(), &Waker::from(first.clone())).is_pending());
        assert!(poll_once(fut.as_mut(), &Waker::from(second.clone())).is_pending());
        gate.open();
        assert_eq!(first.0.load(SeqCst), 0);
        assert_eq!(second.0.load(SeqCst), 1);
    }

    #[test]
    fn a_wait_that_pended_is_rest_for_the_slice() {
        let t = turns();
        let gate = Gate::default();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut slice = Slice::new(COARSE_TICK);
        {
            let mut fut = pin!(t.wait(&mut slice, gate.wait()));
            assert!(poll_once(fut.as_mut(), &waker).is_pending());
            std::thread::sleep(Duration::from_millis(3));
            gate.open();
            assert!(poll_once(fut.as_mut(), &waker).is_ready());
        }
        assert!(slice.rested_us >= 3000, "{slice:?}");
    }

    #[test]
    fn a_registered_deadline_is_due_from_its_moment_until_withdrawn() {
        let t = turns();
        let later = t.register_due(Instant::now() + Duration::from_secs(60));
        let past = t.register_due(Instant::now());
        assert!(t.someone_waits());
        drop(past);
        assert!(!t.someone_waits(), "the next deadline is a minute away");
        drop(later);
        assert_eq!(t.next_due.load(SeqCst), u64::MAX);
    }

    #[test]
    fn a_dropped_timed_wait_withdraws_its_deadline() {
        let t = turns();
        let gate = Gate::default();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut slice = Slice::new(COARSE_TICK);
        {
            let mut fut = Box::pin(t.wait_until(&mut slice, Instant::now(), gate.wait()));
            assert!(poll_once(fut.as_mut(), &waker).is_pending());
            std::thread::sleep(DUE_SLACK * 2);
            assert!(t.someone_waits());
        }
        assert!(!t.someone_waits());
        assert!(t.due.lock().unwrap().is_empty());
    }

    #[test]
    fn a_busy_guest_yields_when_its_slice_is_used_up() {
        let t = turns();
        let mut s = Slice::new(Duration::from_millis(10));
        let mut turns_seen = Vec::new();
        for ms in 0..=10u64 {
            turns_seen.push(s.at_tick(t, ms * 1000).0);
        }
        assert!(turns_seen[..10].iter().all(|t| *t == Turn::Run));
        assert_eq!(turns_seen[10], Turn::Yield);
        // Back from the yield after 50 ms in the queue: that time is not
        // counted, and it has a whole slice again.
        assert_eq!(s.at_tick(t, 60_000), (Turn::Run, 0));
        assert_eq!(s.at_tick(t, 61_000), (Turn::Run, 1));
    }

    #[test]
    fn rest_pays_back_the_slice() {
        let t = turns();
        let mut s = Slice::new(Duration::from_millis(10));
        // 9 ms of work, 1 ms more and a 5 ms sleep: 5 ms used, not 10.
        for ms in 0..=9u64 {
            assert_eq!(s.at_tick(t, ms * 1000).0, Turn::Run);
        }
        s.rested(Duration::from_millis(5));
        assert_eq!(s.at_tick(t, 15_000).0, Turn::Run);
        assert_eq!(s.used_us, 5000);
        for ms in 16..=19u64 {
            assert_eq!(s.at_tick(t, ms * 1000).0, Turn::Run);
        }
        assert_eq!(s.at_tick(t, 20_000).0, Turn::Yield);
    }

    #[test]
    fn a_busy_guest_steps_aside_for_a_woken_source_but_not_forever() {
        let t = turns();
        let mut s = Slice::new(Duration::from_millis(10));
        for ms in 0..10u64 {
            assert_eq!(s.at_tick(t, ms * 1000).0, Turn::Run);
        }
        assert_eq!(s.at_tick(t, 10_000).0, Turn::Yield, "its slice is up");
        assert_eq!(s.at_tick(t, 12_000).0, Turn::Run);
        t.woken.fetch_add(1, SeqCst);
        let mut now = 13_000;
        for _ in 0..MAX_STEP_ASIDE {
            assert_eq!(s.at_tick(t, now).0, Turn::Yield);
            now += 3000;
        }
        // Stepped aside each time it was resumed: now it runs a tick.
        assert_eq!(s.at_tick(t, now).0, Turn::Run);
        assert_eq!(s.at_tick(t, now + 1000).0, Turn::Yield);
        t.woken.fetch_sub(1, SeqCst);
        assert_eq!(s.at_tick(t, now + 5000).0, Turn::Run);
    }

    #[test]
    fn a_source_that_rests_more_than_it_runs_does_not_step_aside() {
        let t = turns();
        let mut s = Slice::new(Duration::from_millis(10));
        t.woken.fetch_add(1, SeqCst);
        // Woken with the others: it runs out its slice like before.
        for ms in 0..10u64 {
            assert_eq!(s.at_tick(t, ms * 1000).0, Turn::Run);
        }
        assert_eq!(s.at_tick(t, 10_000).0, Turn::Yield, "its slice is up");
        assert_eq!(s.at_tick(t, 11_000).0, Turn::Yield, "now it is busy");
        // A rest of half a slice makes it one of the woken ones again.
        s.rested(Duration::from_millis(5));
        assert_eq!(s.at_tick(t, 17_000).0, Turn::Run);
        t.woken.fetch_sub(1, SeqCst);
    }

    #[test]
    fn the_ticker_ticks_finely_only_while_a_guest_is_busy() {
        let t = turns();
        let _ = now_us();
        std::thread::sleep(BUSY_FOR + Duration::from_millis(5));
        assert_eq!(t.tick_period(), COARSE_TICK);
        let mut s = Slice::new(COARSE_TICK);
        s.at_tick(t, now_us());
        assert_eq!(t.tick_period(), FINE_TICK);
    }
}
