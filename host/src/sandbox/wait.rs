//! A guest's waits in WASI cost nothing and still end for an exit request.
//!
//! A source blocked in select, poll or an asyncio loop waits in the host,
//! in `wasi:io/poll.poll`, on its real pollables: no slices, no wake-ups.
//! AxoSyslog calls request_exit() from another thread while the source
//! waits; an instance has one thread, so the poll the guest announced
//! (prepare-wait, see the `host` interface) is raced against the exit
//! request and the acks the guest waits for, and returns early with
//! nothing ready when one of them comes first. The guest then takes the
//! request at its next contact and goes on waiting if it should.
//!
//! Polls the guest did not announce (the C library's own, as in a
//! blocking connect) are left as WASI has them: cutting those short would
//! look like a timeout to the code that made them.

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::io::poll::Host as _;

use crate::guest_api::control::WaitEnds;
use crate::schedule::{Slice, TURNS};

/// The poll interface as wasmtime-wasi defines it in the linker; the
/// guest's older import version resolves to it.
const POLL: &str = "wasi:io/poll@0.2.12";

/// What the shadowed poll needs of a store.
pub trait WaitView: Send {
    /// The store's handles, and the guest's use of its `cpu` slice (the
    /// poll is a wait: see [`crate::schedule`]).
    fn table_and_slice(&mut self) -> (&mut ResourceTable, &mut Slice);
    /// The announced wait's ends, taken by the poll that waits.
    fn announced_wait(&mut self) -> Option<WaitEnds>;
}

/// Replaces `poll` in `linker` (which already holds WASI) with one that
/// ends an announced wait early.
pub fn race_exit<T: WaitView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut poll = linker.instance(POLL)?;
    poll.func_wrap_async(
        "poll",
        |mut store, (pollables,): (Vec<Resource<DynPollable>>,)| {
            Box::new(async move {
                let ends = store.data_mut().announced_wait();
                let (table, slice) = store.data_mut().table_and_slice();
                let wait = async {
                    match ends {
                        None => table.poll(pollables).await,
                        Some(ends) => {
                            // Ready pollables win over an early end, so a
                            // busy server is not held back by its own acks.
                            tokio::select! {
                                biased;
                                ready = table.poll(pollables) => ready,
                                _ = ends.came() => Ok(Vec::new()),
                            }
                        }
                    }
                };
                let ready = TURNS.wait(slice, wait).await?;
                Ok((ready,))
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
