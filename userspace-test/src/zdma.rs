// SPDX-License-Identifier: MIT OR Apache-2.0

//! A Xilinx ZynqMP DMA channel (ZDMA: the GDMA channels at `0xfd500000` and
//! the ADMA ones at `0xffa80000`, device-tree compatible `xlnx,zynqmp-dma-1.0`)
//! driven from userspace through its UIO node, in simple (register) mode: one
//! memory-to-memory copy per transfer, source and destination given as device
//! addresses, completion signalled by the channel's level interrupt.
//!
//! Register layout from the Zynq UltraScale+ register reference (module
//! ZDMA); QEMU's `xlnx-zdma` model implements the same registers and accepts
//! 32-bit accesses only.

use crate::error::{Error, Result};
use crate::uio::{Mmio, Uio};

const REG_ISR: usize = 0x100;
const REG_IMR: usize = 0x104;
const REG_IEN: usize = 0x108;
const REG_IDS: usize = 0x10c;
const REG_CTRL0: usize = 0x110;
const REG_STATUS: usize = 0x11c;
/// Source descriptor words 0-3: address low, address high, size, control.
const REG_SRC_DSCR: usize = 0x128;
/// Destination descriptor words 0-3, as the source's.
const REG_DST_DSCR: usize = 0x138;
const REG_CTRL2: usize = 0x200;
/// The last register: a channel's map must reach past it.
const REGS_END: usize = REG_CTRL2 + 4;

/// The interrupt sources (ISR, IMR, IEN and IDS bits 0-11).
const IRQ_ALL: u32 = 0xfff;
/// ISR: the transfer is done.
const IRQ_DMA_DONE: u32 = 1 << 10;
/// ISR bits that report a failed transfer: AXI write/read data errors (9, 8),
/// descriptor read errors (7, 6), interrupt accounting overflows (5, 4), an
/// invalid register access (0). Linux's zynqmp_dma treats the same as errors.
const IRQ_ERRORS: u32 = 0x3f1;
/// CTRL0 as at reset: simple mode (POINT_TYPE, bit 6, clear), read and write
/// (MODE, bits 5:4, 0), over-fetch allowed (bit 7).
const CTRL0_SIMPLE_RW: u32 = 0x80;
/// CTRL2: enable the channel, starting the programmed transfer.
const CTRL2_EN: u32 = 1;
/// STATUS bits 1:0, the channel's state.
const STATUS_STATE_MASK: u32 = 0x3;
const STATUS_STATE_ERROR: u32 = 0x3;
/// A descriptor's address high word holds bits 48:32.
const ADDR_BITS: u32 = 49;
/// A descriptor's size field is 30 bits wide.
pub const MAX_TRANSFER: usize = (1 << 30) - 1;

/// How long to wait for a completion interrupt (QEMU copies inside the
/// enabling register write; real hardware moves gigabytes per second).
const IRQ_TIMEOUT_MS: i32 = 20_000;

/// One ZDMA channel.
#[derive(Debug)]
pub struct Zdma<'a> {
    uio: &'a Uio,
    regs: Mmio,
}

impl<'a> Zdma<'a> {
    /// Maps the channel's registers (UIO map 0 of `uio`) and checks that they
    /// behave like a ZDMA channel's: the interrupt mask follows writes to the
    /// enable and disable registers. Leaves every interrupt masked but
    /// DMA_DONE. `ENODEV` if the registers do not answer like that.
    pub fn new(uio: &'a Uio) -> Result<Self> {
        let regs = uio.map(0)?;
        if regs.len() < REGS_END {
            return Err(Error::new(
                "ZDMA register map shorter than a channel's",
                libc::ENODEV,
            ));
        }
        let zdma = Zdma { uio, regs };
        zdma.regs.write32(REG_IDS, IRQ_ALL)?;
        let all_masked = zdma.regs.read32(REG_IMR)? & IRQ_ALL;
        zdma.regs.write32(REG_IEN, IRQ_DMA_DONE)?;
        let done_unmasked = zdma.regs.read32(REG_IMR)? & IRQ_ALL;
        if all_masked != IRQ_ALL || done_unmasked != IRQ_ALL & !IRQ_DMA_DONE {
            return Err(Error::new(
                "ZDMA interrupt mask registers (is this a ZDMA channel?)",
                libc::ENODEV,
            ));
        }
        Ok(zdma)
    }

    /// Writes a descriptor's address and size words at `base` (the control
    /// word stays 0: no descriptor interrupt, no coherent-transaction hint).
    fn descriptor(&self, base: usize, addr: u64, len: usize) -> Result<()> {
        self.regs.write32(base, addr as u32)?;
        self.regs.write32(base + 4, (addr >> 32) as u32)?;
        self.regs.write32(base + 8, len as u32)?;
        self.regs.write32(base + 12, 0)
    }

    /// Copies `len` bytes from device address `src` to device address `dst`
    /// and waits for the completion interrupt through `/dev/uioN`: clears the
    /// interrupt status, programs both descriptors in simple mode, enables the
    /// channel; after the interrupt, acknowledges it at the channel (ISR is
    /// write-1-to-clear, and the level line stays high until then) and only
    /// then re-enables it at UIO. `EINVAL` for an empty or oversized transfer
    /// or an address beyond the channel's 49 bits, `ETIMEDOUT` without an
    /// interrupt, `EIO` if the channel reports anything but completion.
    pub fn copy(&self, src: u64, dst: u64, len: usize) -> Result<()> {
        if len == 0 || len > MAX_TRANSFER || (src | dst) >> ADDR_BITS != 0 {
            return Err(Error::new("ZDMA transfer range", libc::EINVAL));
        }
        self.regs.write32(REG_ISR, IRQ_ALL)?;
        self.descriptor(REG_SRC_DSCR, src, len)?;
        self.descriptor(REG_DST_DSCR, dst, len)?;
        self.regs.write32(REG_CTRL0, CTRL0_SIMPLE_RW)?;
        self.regs.write32(REG_IEN, IRQ_DMA_DONE)?;
        self.regs.write32(REG_CTRL2, CTRL2_EN)?;
        self.uio
            .wait_irq_timeout(IRQ_TIMEOUT_MS)?
            .ok_or(Error::new("wait for ZDMA interrupt", libc::ETIMEDOUT))?;
        let status = self.regs.read32(REG_ISR)?;
        self.regs.write32(REG_ISR, status)?;
        self.uio.enable_irq()?;
        let state = self.regs.read32(REG_STATUS)? & STATUS_STATE_MASK;
        if status & IRQ_DMA_DONE == 0 || status & IRQ_ERRORS != 0 || state == STATUS_STATE_ERROR {
            return Err(Error::new(
                "ZDMA completion status (interrupt status or channel state reports an error)",
                libc::EIO,
            ));
        }
        Ok(())
    }
}
