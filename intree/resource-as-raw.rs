    /// Returns a raw pointer to the underlying `struct resource`.
    pub(crate) fn as_raw(&self) -> *mut bindings::resource {
        self.0.get()
    }

