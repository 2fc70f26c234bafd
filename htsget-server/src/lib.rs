//! **htsget-server**: a GA4GH htsget 1.3 server over hyper and tokio.
//!
//! It answers `GET`/`POST` `/reads/{id}` and `/variants/{id}` with tickets resolved by
//! [`htsget_core`], serves `/reads/service-info` and `/variants/service-info`, and streams the
//! byte ranges tickets point at from `/data/{file}` (single `Range`, 206/416, bounded memory).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use htsget_server::{Config, Server};
//!
//! let server = Server::bind(Config::for_data("/srv/genomes")).await?;
//! println!("listening on {}", server.local_addr());
//! server.serve(async { tokio::signal::ctrl_c().await.ok(); }).await?;
//! # Ok(()) }
//! ```

#[cfg(feature = "access")]
pub mod access;
mod blocking;
mod body;
mod changes;
pub mod config;
pub mod data_url;
mod deadline;
#[cfg(feature = "demo")]
pub mod demo;
mod http;
pub mod ids;
pub mod logging;
pub mod metrics;
pub mod range;
#[cfg(feature = "access")]
pub mod references;
pub mod roots;
mod server;
pub mod state;
mod tls;

pub use self::{
    config::{Cli, Config, ConfigError, LogFormat},
    server::{Server, StartError},
};
