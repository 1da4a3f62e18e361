//! The load generator against real sockets on 127.0.0.1: the bench server (static or
//! stalling) and a wiremock gateway. Timing-sensitive tests take a shared lock so they do not
//! compete with each other for the CPU; none asserts wall-clock speed.

mod control;
mod correction;
mod helpers;
mod journeys;
mod profile;
mod rate;
mod target;
