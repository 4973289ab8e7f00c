// SPDX-License-Identifier: MIT OR Apache-2.0

//! DMA through edu.

use crate::common::*;

pub(crate) fn t_smoke_dma_one_page(env: &Env) -> Outcome {
    let uio = ok!(Uio::for_device(env.first()?));
    let edu = ok!(Edu::new(&uio));
    let dev = ok!(ImportDevice::open());
    let len = edu::MAX_TRANSFER;
    let src_fd = ok!(buffers::system_heap(4096));
    let dst_fd = ok!(buffers::system_heap(4096));
    let pattern: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    let mut src = dma_buf::DmaBuf::from(src_fd.try_clone().map_err(|e| e.to_string())?)
        .memory_map()
        .map_err(|e| e.to_string())?;
    src.write(
        |b, _: Option<()>| {
            b[..len].copy_from_slice(&pattern);
            Ok(())
        },
        None,
    )
    .map_err(|e| e.to_string())?;
    let src_imp = ok!(dev.import(&uio, &src_fd, Direction::ToDevice, ImportFlags::default()));
    let dst_imp = ok!(dev.import(&uio, &dst_fd, Direction::FromDevice, ImportFlags::default()));
    ok!(src_imp.sync_for_device());
    ok!(edu.dma(src_imp.segments()[0].dma_addr, 0, len, false));
    ok!(dst_imp.sync_for_device());
    ok!(edu.dma(dst_imp.segments()[0].dma_addr, 0, len, true));
    ok!(dst_imp.sync_for_cpu());
    let dst = dma_buf::DmaBuf::from(dst_fd.try_clone().map_err(|e| e.to_string())?)
        .memory_map()
        .map_err(|e| e.to_string())?;
    let same = dst
        .read(|b, _: Option<()>| Ok(b[..len] == pattern[..]), None)
        .map_err(|e| e.to_string())?;
    check!(
        same,
        "destination differs from the source after DMA through edu (addresses {:#x} -> {:#x})",
        src_imp.segments()[0].dma_addr,
        dst_imp.segments()[0].dma_addr
    );
    Ok(())
}
