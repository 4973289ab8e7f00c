        let ids = T::ID_TABLE.as_ptr();
        // SAFETY: An ID table ends in a zeroed entry, so it has a first entry to read.
        let first = unsafe { &*ids };
        // A table without entries becomes none, as a C driver with only dynamic IDs leaves
        // `id_table` NULL: the PCI core's `new_id` accepts an ID for a table only if the table has
        // an entry with the same `driver_data`, so it would refuse every ID for an empty one.
        let id_table = if first.vendor == 0 && first.subvendor == 0 && first.class_mask == 0 {
            core::ptr::null()
        } else {
            ids
        };

