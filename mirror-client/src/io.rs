//! What the reading core needs from the outside world, so that it is written once as async
//! code and driven either blocking or on the caller's async runtime.
//!
//! [`Io`] sends a request, reads a body, sleeps and waits for another task's result. The
//! blocking driver, [`BlockingIo`] over a [`Transport`], does each of these at once (its
//! futures are ready when first polled), so [`block_on`] needs no runtime: it polls once
//! and would park the thread if a future were ever pending. The async driver (feature
//! `reqwest`) uses the caller's tokio runtime for timers and never starts one.

use std::future::Future;
use std::io::{self, Read};
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use http::{HeaderMap, Request, StatusCode};

use crate::error::Result;
use crate::transport::{Reply, SendOptions, Transport};

/// A reply head with the driver's body type.
#[derive(Debug)]
pub(crate) struct Head<B> {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: B,
}

/// The I/O and timing the reading core uses.
pub(crate) trait Io: Send + Sync {
    /// A reply body being read.
    type Body: Send;

    /// Sends a `GET` (see [`Transport::send`] for the rules).
    fn send(
        &self,
        request: Request<()>,
        options: &SendOptions,
    ) -> impl Future<Output = Result<Head<Self::Body>>> + Send;

    /// Reads some body bytes into `buf`; `Ok(0)` at the end. Errors as [`Reply::body`].
    fn read(
        &self,
        body: &mut Self::Body,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Waits `delay` (a back-off).
    fn sleep(&self, delay: Duration) -> impl Future<Output = ()> + Send;

    /// Waits until `signal` is set or `deadline` passes; `None` on the deadline.
    fn wait<T: Clone + Send>(
        &self,
        signal: &Signal<T>,
        deadline: Instant,
    ) -> impl Future<Output = Option<T>> + Send;
}

/// A one-shot result another task waits for (single-flight of ranges and tokens), usable
/// from threads (condition variable) and from async tasks (wakers).
#[derive(Debug)]
pub(crate) struct Signal<T> {
    state: Mutex<SignalState<T>>,
    set: Condvar,
}

#[derive(Debug)]
struct SignalState<T> {
    value: Option<T>,
    wakers: Vec<Waker>,
}

impl<T> Default for Signal<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(SignalState {
                value: None,
                wakers: Vec::new(),
            }),
            set: Condvar::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state is a plain value; a panic elsewhere leaves it usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Clone> Signal<T> {
    /// Sets the value (the first one wins) and wakes every waiter.
    pub(crate) fn set(&self, value: T) {
        let wakers = {
            let mut state = lock(&self.state);
            if state.value.is_none() {
                state.value = Some(value);
            }
            std::mem::take(&mut state.wakers)
        };
        self.set.notify_all();
        for waker in wakers {
            waker.wake();
        }
    }

    /// Blocks the thread until the value is set or `deadline` passes.
    pub(crate) fn wait_blocking(&self, deadline: Instant) -> Option<T> {
        let mut state = lock(&self.state);
        loop {
            if let Some(v) = state.value.as_ref() {
                return Some(v.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .set
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The value if set; otherwise registers `cx`'s waker to be woken when it is.
    #[cfg(any(feature = "reqwest", test))]
    pub(crate) fn poll_value(&self, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = lock(&self.state);
        match state.value.as_ref() {
            Some(v) => Poll::Ready(v.clone()),
            None => {
                if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    state.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// The blocking driver: a [`Transport`], `std::thread::sleep` and condition variables.
#[derive(Debug, Clone)]
pub(crate) struct BlockingIo(pub(crate) Arc<dyn Transport>);

impl Io for BlockingIo {
    type Body = Box<dyn Read + Send>;

    fn send(
        &self,
        request: Request<()>,
        options: &SendOptions,
    ) -> impl Future<Output = Result<Head<Self::Body>>> + Send {
        let reply = self.0.send(request, options).map(
            |Reply {
                 status,
                 headers,
                 body,
             }| Head {
                status,
                headers,
                body,
            },
        );
        std::future::ready(reply)
    }

    fn read(
        &self,
        body: &mut Self::Body,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::ready(body.read(buf))
    }

    fn sleep(&self, delay: Duration) -> impl Future<Output = ()> + Send {
        thread::sleep(delay);
        std::future::ready(())
    }

    fn wait<T: Clone + Send>(
        &self,
        signal: &Signal<T>,
        deadline: Instant,
    ) -> impl Future<Output = Option<T>> + Send {
        std::future::ready(signal.wait_blocking(deadline))
    }
}

/// Unparks the thread that runs [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread, without a runtime. Meant for futures of
/// the core over [`BlockingIo`], which are ready when polled; anything else that is
/// pending parks the thread until its waker is called.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A future pending until a signal is set from another thread.
    struct Waiting<'a>(&'a Signal<u32>);

    impl Future for Waiting<'_> {
        type Output = u32;

        fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            self.0.poll_value(cx)
        }
    }

    #[test]
    fn block_on_parks_until_a_pending_future_is_woken() {
        let signal = Arc::new(Signal::default());
        let setter = Arc::clone(&signal);
        let handle = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            setter.set(7);
        });
        assert_eq!(block_on(Waiting(&signal)), 7);
        handle.join().expect("the setter");
    }

    #[test]
    fn a_signal_keeps_its_first_value_and_times_out_unset() {
        let signal = Signal::default();
        let soon = Instant::now() + Duration::from_millis(5);
        assert_eq!(signal.wait_blocking(soon), None);
        signal.set(1);
        signal.set(2);
        assert_eq!(signal.wait_blocking(Instant::now()), Some(1));
    }
}
