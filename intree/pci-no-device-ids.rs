/// The ID table of a driver that has no static device IDs and binds only the
/// devices a user hands it, through `new_id` or `driver_override`: it has no
/// entries, and [`Adapter`] registers it as a `NULL` `id_table`.
pub static NO_DEVICE_IDS: crate::device_id::IdArray<DeviceId, (), 0> =
    crate::device_id::IdArray::new_without_index([]);

