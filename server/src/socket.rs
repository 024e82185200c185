//! A client's TCP socket, in the mode its current owner needs.
//!
//! - In the lobby (and while closing) the socket is registered with tokio's reactor, so
//!   the owning task can sleep until the socket is ready.
//! - In a room it is a plain non-blocking socket outside the reactor. The room looks at
//!   every socket once per tick anyway, so readiness events would only wake the runtime
//!   for every packet to record what the next tick finds out by itself.
//!
//! Either way the socket never blocks: reads and writes that cannot proceed return
//! `WouldBlock`, which tungstenite understands.

use std::io::{self, Read, Write};

use tokio::net::TcpStream;

/// A client's TCP socket (see the module doc for the two modes), counting the bytes it
/// carries.
#[derive(Debug)]
pub struct Socket {
    io: Io,
    bytes_read: u64,
    bytes_written: u64,
}

#[derive(Debug)]
enum Io {
    // Registered with the reactor; for tasks that wait on the socket.
    Reactor(TcpStream),
    // Outside the reactor; for a room that polls it once per tick.
    Polled(PolledSocket),
    // Between modes, or after a failed switch.
    Detached,
}

/// A non-blocking socket read at most until empty once per tick.
#[derive(Debug)]
struct PolledSocket {
    stream: std::net::TcpStream,
    /// A read this tick came back short, so the kernel buffer is empty: further reads
    /// this tick would only cost a system call to learn `WouldBlock`.
    drained: bool,
}

impl PolledSocket {
    /// One `recv`. On Linux it is the system call itself: std goes through libc, whose
    /// wrapper marks a thread-cancellation point around every call, which a room pays
    /// twice per client per tick.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        return rustix::net::recv(&self.stream, buf, rustix::net::RecvFlags::empty())
            .map(|(n, _)| n)
            .map_err(io::Error::from);
        #[cfg(not(target_os = "linux"))]
        return (&self.stream).read(buf);
    }

    /// One `send`, as [`PolledSocket::recv`] reads; never raises SIGPIPE, as std's does not.
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        return rustix::net::send(&self.stream, buf, rustix::net::SendFlags::NOSIGNAL)
            .map_err(io::Error::from);
        #[cfg(not(target_os = "linux"))]
        return (&self.stream).write(buf);
    }
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "socket is between owners")
}

impl Socket {
    /// A socket registered with the reactor.
    pub fn new(stream: TcpStream) -> Self {
        Self {
            io: Io::Reactor(stream),
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// Bytes read and written since the last call.
    pub fn take_bytes(&mut self) -> (u64, u64) {
        (
            std::mem::take(&mut self.bytes_read),
            std::mem::take(&mut self.bytes_written),
        )
    }

    /// Takes the socket out of the reactor (for a room).
    ///
    /// # Errors
    /// The socket's I/O error when it cannot be taken out; the socket is then detached.
    pub fn to_polled(&mut self) -> io::Result<()> {
        self.io = match std::mem::replace(&mut self.io, Io::Detached) {
            Io::Reactor(stream) => Io::Polled(PolledSocket {
                // Stays non-blocking: tokio's `into_std` keeps the mode.
                stream: stream.into_std()?,
                drained: false,
            }),
            other => other,
        };
        Ok(())
    }

    /// Registers the socket with the reactor again (for a task that waits on it). Must be
    /// called within the runtime.
    ///
    /// # Errors
    /// The socket's I/O error when it cannot be registered; the socket is then detached.
    pub fn to_reactor(&mut self) -> io::Result<()> {
        self.io = match std::mem::replace(&mut self.io, Io::Detached) {
            Io::Polled(polled) => Io::Reactor(TcpStream::from_std(polled.stream)?),
            other => other,
        };
        Ok(())
    }

    /// A new tick: the socket may have received data since the last one.
    pub fn new_tick(&mut self) {
        if let Io::Polled(polled) = &mut self.io {
            polled.drained = false;
        }
    }

    /// Waits until the socket may be readable. Resolves at once outside the reactor.
    pub async fn readable(&self) -> io::Result<()> {
        match &self.io {
            Io::Reactor(stream) => stream.readable().await,
            Io::Polled(_) => Ok(()),
            Io::Detached => Err(detached()),
        }
    }

    /// Waits until the socket may be writable. Resolves at once outside the reactor.
    pub async fn writable(&self) -> io::Result<()> {
        match &self.io {
            Io::Reactor(stream) => stream.writable().await,
            Io::Polled(_) => Ok(()),
            Io::Detached => Err(detached()),
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.io {
            // Returns `WouldBlock` without a system call when the reactor saw no data.
            Io::Reactor(stream) => stream.try_read(buf),
            Io::Polled(polled) => {
                if polled.drained {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = polled.recv(buf);
                match &n {
                    Ok(n) if *n < buf.len() => polled.drained = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => polled.drained = true,
                    _ => {}
                }
                n
            }
            Io::Detached => Err(detached()),
        };
        if let Ok(n) = n {
            self.bytes_read += n as u64;
        }
        n
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &self.io {
            Io::Reactor(stream) => stream.try_write(buf),
            Io::Polled(polled) => polled.send(buf),
            Io::Detached => Err(detached()),
        };
        if let Ok(n) = n {
            self.bytes_written += n as u64;
        }
        n
    }

    fn flush(&mut self) -> io::Result<()> {
        // TCP has nothing of its own to flush; tungstenite's buffer is flushed by `write`.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (server, client) = tokio::join!(listener.accept(), client);
        (server.unwrap().0, client.unwrap())
    }

    #[tokio::test]
    async fn polled_reads_once_per_tick_until_short() {
        let (server, mut peer) = pair().await;
        let mut socket = Socket::new(server);
        socket.to_polled().unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            socket.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        tokio::io::AsyncWriteExt::write_all(&mut peer, b"abc")
            .await
            .unwrap();
        // Drained this tick: no read until the next one.
        assert_eq!(
            socket.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        socket.new_tick();
        let mut got = 0;
        for _ in 0..100 {
            match socket.read(&mut buf) {
                Ok(n) => {
                    got = n;
                    break;
                }
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    socket.new_tick();
                }
            }
        }
        assert_eq!(&buf[..got], b"abc");
    }

    #[tokio::test]
    async fn switches_back_to_the_reactor_and_waits_there() {
        let (server, mut peer) = pair().await;
        let mut socket = Socket::new(server);
        socket.to_polled().unwrap();
        socket.to_reactor().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut peer, b"x")
            .await
            .unwrap();
        let mut buf = [0u8; 4];
        loop {
            socket.readable().await.unwrap();
            match socket.read(&mut buf) {
                Ok(n) => {
                    assert_eq!(&buf[..n], b"x");
                    break;
                }
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            }
        }
    }
}
