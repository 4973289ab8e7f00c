// SPDX-License-Identifier: MIT OR Apache-2.0

//! Discovery of the PCI and platform devices bound to the `uio_dmabuf` driver
//! through sysfs, and a PCI device's command register through config space.

use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The kernel driver's name, as in `/sys/bus/{pci,platform}/drivers/`.
pub const DRIVER_NAME: &str = "uio_dmabuf";

/// The bus a bound device sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bus {
    Pci,
    Platform,
}

impl Bus {
    /// The bus's name in sysfs and in the CLI's output.
    pub fn name(self) -> &'static str {
        match self {
            Bus::Pci => "pci",
            Bus::Platform => "platform",
        }
    }
}

/// A device bound to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundDevice {
    pub bus: Bus,
    /// The device's name on its bus, what `--device` takes: a PCI address
    /// (`0000:00:03.0`) or a platform device's name (`fd500000.dma-controller`).
    pub name: String,
    /// What the hardware is: PCI `vendor:device` in hex (`1234:11e8`); a
    /// platform device's first device-tree `compatible` string
    /// (`xlnx,zynqmp-dma-1.0`), `-` without a device-tree node.
    pub id: String,
    /// The UIO node's name (`uio0`), once the driver registers one.
    pub uio: Option<String>,
}

impl BoundDevice {
    /// The device's directory in sysfs.
    pub fn sysfs_path(&self) -> PathBuf {
        device_path(self.bus, &self.name)
    }
}

/// `/sys/bus/<bus>/devices/<name>`.
pub fn device_path(bus: Bus, name: &str) -> PathBuf {
    Path::new("/sys/bus")
        .join(bus.name())
        .join("devices")
        .join(name)
}

/// The bus of the device called `name` (a PCI address or a platform device's
/// name) and its sysfs directory; `None` if no such device exists.
pub fn find_device(name: &str) -> Option<(Bus, PathBuf)> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    [Bus::Pci, Bus::Platform]
        .into_iter()
        .map(|bus| (bus, device_path(bus, name)))
        .find(|(_, path)| path.exists())
}

/// Reads a sysfs file holding one hexadecimal number such as `0x1234`.
fn read_hex_u16(path: &Path) -> io::Result<u16> {
    let text = fs::read_to_string(path)?;
    let digits = text.trim().trim_start_matches("0x");
    u16::from_str_radix(digits, 16).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// Whether `name` looks like a PCI address (`dddd:bb:dd.f`).
fn is_pci_address(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10) || c.is_ascii_hexdigit())
}

/// The identification of the device at `path` on `bus` (see [`BoundDevice::id`]).
fn device_id(bus: Bus, path: &Path) -> io::Result<String> {
    Ok(match bus {
        Bus::Pci => format!(
            "{:04x}:{:04x}",
            read_hex_u16(&path.join("vendor"))?,
            read_hex_u16(&path.join("device"))?
        ),
        Bus::Platform => match fs::read(path.join("of_node/compatible")) {
            Ok(list) => list
                .split(|&b| b == 0)
                .next()
                .filter(|c| !c.is_empty())
                .map_or("-".into(), |c| String::from_utf8_lossy(c).into_owned()),
            Err(_) => "-".into(),
        },
    })
}

/// The devices bound to `driver` on `bus` below `sysfs_root`, sorted by name.
fn bound_on(sysfs_root: &Path, bus: Bus, driver: &str) -> io::Result<Vec<BoundDevice>> {
    let dir = sysfs_root
        .join("bus")
        .join(bus.name())
        .join("drivers")
        .join(driver);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut devices = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path: PathBuf = entry.path();
        // A driver's directory also holds bind, unbind, uevent (files),
        // new_id and remove_id (PCI) and the module link (a directory).
        let is_device = match bus {
            Bus::Pci => is_pci_address(&name),
            Bus::Platform => name != "module" && path.is_dir(),
        };
        if !is_device {
            continue;
        }
        let uio = match fs::read_dir(path.join("uio")) {
            Ok(mut nodes) => nodes
                .next()
                .transpose()?
                .map(|n| n.file_name().to_string_lossy().into_owned()),
            Err(_) => None,
        };
        devices.push(BoundDevice {
            bus,
            id: device_id(bus, &path)?,
            name,
            uio,
        });
    }
    devices.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(devices)
}

/// Lists the devices bound to `driver` below `sysfs_root` (normally `/sys`):
/// PCI devices by address, then platform devices by name. A driver that is
/// not loaded has no devices.
pub fn bound_devices_in(sysfs_root: &Path, driver: &str) -> io::Result<Vec<BoundDevice>> {
    let mut devices = bound_on(sysfs_root, Bus::Pci, driver)?;
    devices.extend(bound_on(sysfs_root, Bus::Platform, driver)?);
    Ok(devices)
}

/// The driver's debugfs counters (`/sys/kernel/debug/uio_dmabuf/summary`) as
/// `(name, value)` pairs, in file order.
pub fn debugfs_summary() -> io::Result<Vec<(String, u64)>> {
    let text = fs::read_to_string("/sys/kernel/debug/uio_dmabuf/summary")?;
    Ok(text
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .and_then(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        })
        .collect())
}

/// Lists the devices bound to `uio_dmabuf` on this machine.
pub fn bound_devices() -> io::Result<Vec<BoundDevice>> {
    bound_devices_in(Path::new("/sys"), DRIVER_NAME)
}

/// The command register's Bus Master Enable bit.
pub const PCI_COMMAND_MASTER: u16 = 1 << 2;
/// The command register's Interrupt Disable bit (INTx masked).
pub const PCI_COMMAND_INTX_DISABLE: u16 = 1 << 10;
/// Offset of the command register in config space.
const PCI_COMMAND: u64 = 4;

/// The config space file of PCI device `pci` (e.g. `0000:00:03.0`).
pub fn pci_config_path(pci: &str) -> PathBuf {
    Path::new("/sys/bus/pci/devices").join(pci).join("config")
}

/// Reads the command register from an open config space file.
pub fn read_pci_command(config: &fs::File) -> io::Result<u16> {
    let mut cmd = [0u8; 2];
    config.read_exact_at(&mut cmd, PCI_COMMAND)?;
    Ok(u16::from_le_bytes(cmd))
}

/// Writes the command register through an open config space file.
pub fn write_pci_command(config: &fs::File, value: u16) -> io::Result<()> {
    config.write_all_at(&value.to_le_bytes(), PCI_COMMAND)
}

/// The command register of PCI device `pci`.
pub fn pci_command(pci: &str) -> io::Result<u16> {
    read_pci_command(&fs::File::open(pci_config_path(pci))?)
}

/// The driver PCI device `pci` is bound to, if any.
pub fn pci_driver_of(pci: &str) -> Option<String> {
    fs::read_link(Path::new("/sys/bus/pci/devices").join(pci).join("driver"))
        .ok()
        .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// Hands PCI device `pci` to `driver` through its `driver_override`, as a user
/// gives a device to vfio-pci or uio_pci_generic: unbound from its driver,
/// probed again, and checked to be `driver`'s. [`pci_hand_back`] undoes it.
pub fn pci_hand_to(pci: &str, driver: &str) -> io::Result<()> {
    let dev = Path::new("/sys/bus/pci/devices").join(pci);
    if pci_driver_of(pci).is_some() {
        fs::write(dev.join("driver/unbind"), pci)?;
    }
    fs::write(dev.join("driver_override"), driver)?;
    fs::write("/sys/bus/pci/drivers_probe", pci)?;
    match pci_driver_of(pci) {
        Some(d) if d == driver => Ok(()),
        other => Err(io::Error::other(format!(
            "{pci} bound to {other:?} after driver_override, not {driver}"
        ))),
    }
}

/// Gives PCI device `pci` back to this driver after [`pci_hand_to`]: unbound,
/// its `driver_override` cleared, bound to `uio_dmabuf` (whose dynamic ID or
/// the bind file's explicit request takes it).
pub fn pci_hand_back(pci: &str) -> io::Result<()> {
    let dev = Path::new("/sys/bus/pci/devices").join(pci);
    if pci_driver_of(pci).is_some() {
        fs::write(dev.join("driver/unbind"), pci)?;
    }
    fs::write(dev.join("driver_override"), "\n")?;
    fs::write(format!("/sys/bus/pci/drivers/{DRIVER_NAME}/bind"), pci)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_device(root: &Path, addr: &str, vendor: &str, device: &str, uio: Option<&str>) {
        let dev = root.join("bus/pci/drivers/uio_dmabuf").join(addr);
        fs::create_dir_all(&dev).unwrap();
        fs::write(dev.join("vendor"), format!("{vendor}\n")).unwrap();
        fs::write(dev.join("device"), format!("{device}\n")).unwrap();
        if let Some(uio) = uio {
            fs::create_dir_all(dev.join("uio").join(uio)).unwrap();
        }
    }

    fn temp_root(tag: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("uio-dmabuf-test-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        root
    }

    fn fake_platform_device(root: &Path, name: &str, compatible: Option<&[u8]>) {
        let dev = root.join("bus/platform/drivers/uio_dmabuf").join(name);
        fs::create_dir_all(dev.join("uio/uio2")).unwrap();
        if let Some(c) = compatible {
            fs::create_dir_all(dev.join("of_node")).unwrap();
            fs::write(dev.join("of_node/compatible"), c).unwrap();
        }
    }

    #[test]
    fn lists_bound_devices_sorted_with_uio_node() {
        let root = temp_root("list");
        fake_device(&root, "0000:00:05.0", "0x1234", "0x11e8", None);
        fake_device(&root, "0000:00:04.0", "0x1234", "0x11e8", Some("uio0"));
        // Driver directories also hold bind/unbind/new_id files and a module link.
        let drv = root.join("bus/pci/drivers/uio_dmabuf");
        fs::write(drv.join("bind"), "").unwrap();
        fs::create_dir_all(drv.join("module")).unwrap();
        fake_platform_device(
            &root,
            "fd510000.dma-controller",
            Some(b"xlnx,zynqmp-dma-1.0\0"),
        );
        fake_platform_device(&root, "uio_dmabuf_testdev", None);
        fake_platform_device(&root, "fd500000.dma-controller", Some(b"a,b\0c,d\0"));
        let pdrv = root.join("bus/platform/drivers/uio_dmabuf");
        fs::write(pdrv.join("uevent"), "").unwrap();
        fs::create_dir_all(pdrv.join("module")).unwrap();

        let devices = bound_devices_in(&root, "uio_dmabuf").unwrap();
        let platform = |name: &str, id: &str| BoundDevice {
            bus: Bus::Platform,
            name: name.into(),
            id: id.into(),
            uio: Some("uio2".into()),
        };
        assert_eq!(
            devices,
            vec![
                BoundDevice {
                    bus: Bus::Pci,
                    name: "0000:00:04.0".into(),
                    id: "1234:11e8".into(),
                    uio: Some("uio0".into())
                },
                BoundDevice {
                    bus: Bus::Pci,
                    name: "0000:00:05.0".into(),
                    id: "1234:11e8".into(),
                    uio: None
                },
                platform("fd500000.dma-controller", "a,b"),
                platform("fd510000.dma-controller", "xlnx,zynqmp-dma-1.0"),
                platform("uio_dmabuf_testdev", "-"),
            ]
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn device_names_never_leave_the_bus_directories() {
        assert_eq!(find_device(""), None);
        assert_eq!(find_device("../../kernel"), None);
        assert_eq!(find_device(".."), None);
        assert_eq!(find_device("no-such-device-anywhere"), None);
    }

    #[test]
    fn driver_not_loaded_means_no_devices() {
        let root = temp_root("absent");
        assert_eq!(bound_devices_in(&root, "uio_dmabuf").unwrap(), vec![]);
    }

    #[test]
    fn malformed_id_is_an_error() {
        let root = temp_root("bad");
        fake_device(&root, "0000:00:04.0", "zz", "0x11e8", None);
        let err = bound_devices_in(&root, "uio_dmabuf").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn pci_address_shape() {
        assert!(is_pci_address("0000:00:04.0"));
        assert!(is_pci_address("10de:af:1f.7"));
        assert!(!is_pci_address("bind"));
        assert!(!is_pci_address("0000:00:04"));
        assert!(!is_pci_address("0000-00:04.0"));
    }
}
