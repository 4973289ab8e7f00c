// SPDX-License-Identifier: MIT OR Apache-2.0

//! QEMU's `edu` device driven from userspace through its UIO node: registers,
//! interrupts and the DMA engine.
//!
//! DMA moves bytes between RAM (a device address, e.g. from an import's
//! segment list) and edu's 4 KiB buffer at device offset 0x40000. QEMU 7.2
//! aborts on transfers of 0 bytes or ending at 0x41000, so one transfer moves at
//! most [`MAX_TRANSFER`] bytes.

use crate::error::{Error, Result};
use crate::uio::{Mmio, Uio};

const REG_ID: usize = 0x00;
const REG_LIVENESS: usize = 0x04;
const REG_IRQ_STATUS: usize = 0x24;
const REG_IRQ_RAISE: usize = 0x60;
const REG_IRQ_ACK: usize = 0x64;
const REG_DMA_SRC: usize = 0x80;
const REG_DMA_DST: usize = 0x88;
const REG_DMA_COUNT: usize = 0x90;
const REG_DMA_CMD: usize = 0x98;

const DMA_CMD_START: u64 = 0x1;
const DMA_CMD_TO_RAM: u64 = 0x2;
const DMA_CMD_IRQ: u64 = 0x4;
/// Interrupt status bit of a finished DMA.
pub const IRQ_DMA: u32 = 0x100;

/// Device address of edu's internal buffer.
pub const DEVICE_BUFFER: u64 = 0x40000;
/// Longest transfer that works on every QEMU version.
pub const MAX_TRANSFER: usize = 4095;

/// How long to wait for an interrupt (edu's DMA timer is 100 ms of virtual
/// time; TCG under load can stretch that a lot).
const IRQ_TIMEOUT_MS: i32 = 20_000;

/// An edu device.
#[derive(Debug)]
pub struct Edu<'a> {
    uio: &'a Uio,
    regs: Mmio,
}

impl<'a> Edu<'a> {
    /// Maps BAR0 (UIO map 0) of `uio` and checks edu's identification register.
    pub fn new(uio: &'a Uio) -> Result<Self> {
        let regs = uio.map(0)?;
        let edu = Edu { uio, regs };
        if edu.id()? & 0xff != 0xed {
            return Err(Error::new("edu identification register", libc::ENODEV));
        }
        Ok(edu)
    }

    /// The identification register, `0x010000ed` for edu 1.0.
    pub fn id(&self) -> Result<u32> {
        self.regs.read32(REG_ID)
    }

    /// Writes `value` to the liveness register and reads back its complement.
    pub fn liveness(&self, value: u32) -> Result<u32> {
        self.regs.write32(REG_LIVENESS, value)?;
        self.regs.read32(REG_LIVENESS)
    }

    /// Makes edu raise an interrupt with status `bits`.
    pub fn raise_irq(&self, bits: u32) -> Result<()> {
        self.regs.write32(REG_IRQ_RAISE, bits)
    }

    /// Acknowledges every pending interrupt at edu (read the status, write it
    /// to the ack register); returns the status.
    pub fn ack_irq(&self) -> Result<u32> {
        let status = self.regs.read32(REG_IRQ_STATUS)?;
        self.regs.write32(REG_IRQ_ACK, status)?;
        Ok(status)
    }

    /// Waits for an interrupt through `/dev/uioN`, acknowledges it at edu (read
    /// the status, write it back to the ack register) and re-enables it at UIO.
    /// Returns the status.
    pub fn wait_irq(&self) -> Result<u32> {
        self.uio
            .wait_irq_timeout(IRQ_TIMEOUT_MS)?
            .ok_or(Error::new("wait for edu interrupt", libc::ETIMEDOUT))?;
        let status = self.ack_irq()?;
        self.uio.enable_irq()?;
        Ok(status)
    }

    /// Programs a transfer as [`Edu::dma`] does and returns at once, without
    /// waiting: edu runs it from a timer about 100 ms later, raising its
    /// interrupt at the end only if `irq`. [`Edu::dma_running`] tells when it
    /// is done.
    pub fn start_dma(
        &self,
        ram: u64,
        offset: u64,
        len: usize,
        to_ram: bool,
        irq: bool,
    ) -> Result<()> {
        let end = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(len));
        if len == 0 || end.is_none_or(|end| end > MAX_TRANSFER) {
            return Err(Error::new("edu DMA range", libc::EINVAL));
        }
        let dev = DEVICE_BUFFER + offset;
        let (src, dst) = if to_ram { (dev, ram) } else { (ram, dev) };
        self.regs.write64(REG_DMA_SRC, src)?;
        self.regs.write64(REG_DMA_DST, dst)?;
        self.regs.write64(REG_DMA_COUNT, len as u64)?;
        let dir = if to_ram { DMA_CMD_TO_RAM } else { 0 };
        let irq = if irq { DMA_CMD_IRQ } else { 0 };
        self.regs.write64(REG_DMA_CMD, DMA_CMD_START | irq | dir)
    }

    /// Whether a transfer is programmed and not finished yet.
    pub fn dma_running(&self) -> Result<bool> {
        Ok(self.regs.read64(REG_DMA_CMD)? & DMA_CMD_START != 0)
    }

    /// Copies `len` bytes between RAM at device address `ram` and edu's buffer at
    /// `DEVICE_BUFFER + offset`, RAM to device unless `to_ram`, and waits for
    /// the completion interrupt.
    pub fn dma(&self, ram: u64, offset: u64, len: usize, to_ram: bool) -> Result<()> {
        self.start_dma(ram, offset, len, to_ram, true)?;
        let status = self.wait_irq()?;
        if status & IRQ_DMA == 0 {
            return Err(Error::new("edu DMA completion status", libc::EIO));
        }
        if self.dma_running()? {
            return Err(Error::new(
                "edu DMA still running after its interrupt",
                libc::EIO,
            ));
        }
        Ok(())
    }
}
