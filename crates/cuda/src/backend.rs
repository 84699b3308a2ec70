//! The device side: context, embedded modules, RAII buffers, checked launches.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex};

use cudarc::driver::sys::{CUdevice_attribute, CUevent_flags, CUfunction_attribute};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr, LaunchConfig,
};
use cudarc::nvrtc::Ptx;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;

use crate::abi::{DeviceReprArg, FillParams};
use crate::error::{Error, Result};
use crate::field::{DeviceField, FieldKind};
use crate::kernels;
use crate::plan::{
    DEFAULT_SHARED_BYTES, MAX_LOG_REGS, NTT_MAX_THREADS, NttLimits, NttPass, plan_dif_passes,
};
use crate::probe::{DriverInfo, probe_driver};
use crate::staging::{Staging, StagingStats, UploadSource};

/// Options of a [`CudaBackend`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendOptions {
    /// Fill every buffer the backend allocates with this word before any kernel writes it
    /// (tests use a non-canonical word such as 0xFFFF_FFFF, so unwritten outputs cannot pass).
    pub poison: Option<u32>,
    /// Synchronize after every launch, so an execution error is reported by the launch that
    /// caused it rather than by the next download.
    pub sync_each_launch: bool,
    /// Time every launch and host/device copy with CUDA events
    /// ([`CudaBackend::take_kernel_times`]); off by default (two events per launch).
    pub profile_kernels: bool,
    /// Upload through pinned host staging slots (on by default; see [`crate::staging`]): the
    /// copy is queued and the call returns, the host transposes straight into the slot, and a
    /// failed pinned allocation falls back to the pageable copy. Off: every upload is a
    /// pageable copy, which holds the host until the driver has staged it.
    pub pinned_uploads: bool,
    /// Cap of one staging slot in words ([`crate::staging::DEFAULT_SLOT_WORDS`], 256 MiB, by
    /// default); larger uploads go through the slots in chunks. At least 1.
    pub staging_slot_words: usize,
}

impl Default for BackendOptions {
    fn default() -> Self {
        Self {
            poison: None,
            sync_each_launch: false,
            profile_kernels: false,
            pinned_uploads: true,
            staging_slot_words: crate::staging::DEFAULT_SLOT_WORDS,
        }
    }
}

/// A CUDA device with the slotproof kernels loaded. All work goes to one stream, in order
/// ([`CudaBackend::fork_stream`] gives another stream on the same context).
///
/// Teardown order (fields drop in declaration order, after [`Drop::drop`] has synchronised the
/// stream): the buffers this backend holds (twiddle tables, pinned slots, profiling events),
/// then the functions and modules, then the stream, then the context. Modules are therefore
/// never unloaded under a kernel still queued, nor before the memory kernels used is freed.
pub struct CudaBackend {
    tables: Mutex<HashMap<TableKey, Arc<DeviceBuffer>>>,
    /// Pinned upload slots of this stream (each slot waits for its last copy before freeing
    /// its memory).
    staging: Mutex<Staging>,
    profile: crate::profile::KernelProfile,
    functions: Mutex<HashMap<String, CudaFunction>>,
    modules: Vec<(&'static str, Arc<CudaModule>)>,
    stream: Arc<CudaStream>,
    ctx: Arc<CudaContext>,
    info: DriverInfo,
    /// Dynamic shared memory each kernel has been allowed beyond the default 48 KiB.
    shared_allowed: Mutex<HashMap<&'static str, u32>>,
    /// The device's `MAX_SHARED_MEMORY_PER_BLOCK_OPTIN`.
    shared_optin_bytes: usize,
    ntt_limits: NttLimits,
    options: BackendOptions,
}

impl Drop for CudaBackend {
    /// Wait for this backend's queued work before its buffers are freed and its modules
    /// unloaded (a backend dropped after an error may still have kernels queued). Drop cannot
    /// return the error; the context keeps it for its next check.
    fn drop(&mut self) {
        bind_context(&self.ctx);
        // Not `CudaStream::synchronize`: it returns early, without waiting, when the context
        // holds an error recorded earlier.
        // SAFETY: the stream is alive (owned) and its context is current.
        let drained =
            unsafe { cudarc::driver::result::stream::synchronize(self.stream.cu_stream()) };
        self.ctx.record_err(drained);
    }
}

/// Make `ctx` current on this thread without consuming an error the context has recorded
/// (cudarc's `bind_to_thread` returns, and clears, a pending error before binding). A failure
/// to bind is recorded on the context.
pub(crate) fn bind_context(ctx: &CudaContext) {
    // SAFETY: `ctx` is alive (borrowed), so its handle is a valid, initialised context.
    let bound = unsafe { cudarc::driver::result::ctx::set_current(ctx.cu_ctx()) };
    ctx.record_err(bound);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TableKey {
    Twiddles {
        field: FieldKind,
        log_n: u32,
        inverse: bool,
    },
}

impl CudaBackend {
    /// Probe the driver, create a context on device 0 and load the embedded kernels.
    pub fn new() -> Result<Self> {
        Self::with_options(0, BackendOptions::default())
    }

    /// As [`CudaBackend::new`], on device `ordinal`, with options.
    pub fn with_options(ordinal: usize, options: BackendOptions) -> Result<Self> {
        // Options first: they are wrong on every machine.
        if options.staging_slot_words == 0 {
            return Err(Error::InvalidOptions(
                "staging_slot_words must be at least 1".into(),
            ));
        }
        // The probe comes before cudarc: cudarc panics when libcuda is missing.
        let info = probe_driver()?;
        if kernels::KERNELS.is_empty() {
            return Err(Error::KernelsNotBuilt);
        }
        // What `info` says (stand-in or not) must be what cudarc runs.
        crate::probe::cudarc_uses_probed_driver()?;
        let ctx = CudaContext::new(ordinal)?;
        // One stream, raw pointers inside parameter structs: cudarc's per-slice event tracking
        // would not see those accesses anyway, and in-order execution on one stream is the rule.
        // SAFETY: no other stream of this context touches the buffers this backend allocates.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let mut modules = Vec::new();
        for &(name, cubin, ptx) in kernels::KERNELS {
            let module = match ctx.load_module(Ptx::from_binary(cubin.to_vec())) {
                Ok(m) => m,
                Err(cubin_err) => {
                    ctx.load_module(Ptx::from_src(ptx))
                        .map_err(|ptx_err| Error::ModuleLoad {
                            module: name,
                            cubin: cubin_err,
                            ptx: ptx_err,
                        })?
                }
            };
            modules.push((name, module));
        }
        let optin = ctx
            .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)?;
        let shared_optin_bytes = usize::try_from(optin)
            .unwrap_or(0)
            .max(DEFAULT_SHARED_BYTES);
        Ok(Self {
            info,
            stream,
            modules,
            functions: Mutex::new(HashMap::new()),
            shared_allowed: Mutex::new(HashMap::new()),
            shared_optin_bytes,
            ntt_limits: NttLimits::for_shared_memory(shared_optin_bytes),
            tables: Mutex::new(HashMap::new()),
            options,
            profile: Default::default(),
            staging: Mutex::new(Staging::new(&ctx, options.staging_slot_words)?),
            ctx,
        })
    }

    /// A backend on the same device, context and loaded modules with a stream of its own (a
    /// non-blocking one), so that several shards can be in flight on one device. Work on the
    /// fork is ordered within its stream only: a buffer must be used by the backend that
    /// allocated it (event tracking is off, see [`CudaBackend::with_options`]), so the fork
    /// keeps its own function, shared-memory and twiddle-table caches, and its own pinned
    /// upload slots.
    pub fn fork_stream(&self) -> Result<Self> {
        Ok(Self {
            info: self.info.clone(),
            ctx: self.ctx.clone(),
            stream: self.ctx.new_stream()?,
            modules: self.modules.clone(),
            functions: Mutex::new(HashMap::new()),
            shared_allowed: Mutex::new(HashMap::new()),
            shared_optin_bytes: self.shared_optin_bytes,
            ntt_limits: self.ntt_limits,
            tables: Mutex::new(HashMap::new()),
            options: self.options,
            profile: Default::default(),
            staging: Mutex::new(Staging::new(&self.ctx, self.options.staging_slot_words)?),
        })
    }

    /// What the driver probe found.
    pub fn driver_info(&self) -> &DriverInfo {
        &self.info
    }

    /// Device name and compute capability.
    pub fn device_description(&self) -> Result<String> {
        let name = self.ctx.name()?;
        let (major, minor) = self.ctx.compute_capability()?;
        Ok(format!("{name} (sm_{major}{minor})"))
    }

    /// Free and total device memory in bytes.
    pub fn mem_info(&self) -> Result<(usize, usize)> {
        Ok(self.ctx.mem_get_info()?)
    }

    /// The stream all operations run on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The options this backend was created with.
    pub fn options(&self) -> BackendOptions {
        self.options
    }

    /// Wait for all queued work; also reports errors cudarc could only record (frees in drops).
    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize()?;
        self.ctx.check_err()?;
        Ok(())
    }

    /// Dynamic shared memory one block may opt in to (`MAX_SHARED_MEMORY_PER_BLOCK_OPTIN`;
    /// 227 KiB on H100 and H200).
    pub fn shared_memory_optin_bytes(&self) -> usize {
        self.shared_optin_bytes
    }

    /// The NTT tile limits in use: by default derived from
    /// [`CudaBackend::shared_memory_optin_bytes`].
    pub fn ntt_limits(&self) -> NttLimits {
        self.ntt_limits
    }

    /// Use other NTT tile limits (tests exercise the 48 KiB plan and small multi-pass plans on
    /// any device with this). Limits whose tiles exceed the device's shared memory, or whose
    /// warp phase or block size the kernel does not support, are rejected.
    pub fn set_ntt_limits(&mut self, limits: NttLimits) -> Result<()> {
        if limits.max_tile_bytes() > self.shared_optin_bytes {
            return Err(Error::InvalidNttLimits(format!(
                "tiles of {} bytes exceed the device's {} bytes of shared memory per block",
                limits.max_tile_bytes(),
                self.shared_optin_bytes
            )));
        }
        if limits.max_log_regs > MAX_LOG_REGS || limits.max_threads > NTT_MAX_THREADS {
            return Err(Error::InvalidNttLimits(format!(
                "max_log_regs {} (at most {MAX_LOG_REGS}) / max_threads {} (at most {NTT_MAX_THREADS})",
                limits.max_log_regs, limits.max_threads
            )));
        }
        if limits.max_final_stages == 0 || limits.max_strided_stages == 0 {
            return Err(Error::InvalidNttLimits(
                "a pass must do at least one stage".into(),
            ));
        }
        self.ntt_limits = limits;
        Ok(())
    }

    /// The NTT passes a transform of 2^log_n rows runs with the current limits.
    pub fn ntt_plan(&self, log_n: u32) -> Vec<NttPass> {
        plan_dif_passes(log_n, self.ntt_limits)
    }

    /// Let `kernel` launch with `bytes` of dynamic shared memory (beyond 48 KiB a function must
    /// opt in via `CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES`); done once per kernel and size.
    fn allow_dynamic_shared(
        &self,
        kernel: &'static str,
        func: &CudaFunction,
        bytes: u32,
    ) -> Result<()> {
        if bytes as usize <= DEFAULT_SHARED_BYTES {
            return Ok(());
        }
        if bytes as usize > self.shared_optin_bytes {
            return Err(Error::InvalidNttLimits(format!(
                "{kernel} needs {bytes} bytes of shared memory, the device allows {}",
                self.shared_optin_bytes
            )));
        }
        let mut allowed = self.shared_allowed.lock().unwrap();
        if allowed.get(kernel).is_some_and(|&a| a >= bytes) {
            return Ok(());
        }
        self.ctx
            .bind_to_thread()
            .and_then(|()| {
                func.set_attribute(
                    CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    bytes as i32,
                )
            })
            .map_err(|source| Error::Launch { kernel, source })?;
        allowed.insert(kernel, bytes);
        Ok(())
    }

    pub(crate) fn function(&self, name: &str) -> Result<CudaFunction> {
        let mut cache = self.functions.lock().unwrap();
        if let Some(f) = cache.get(name) {
            return Ok(f.clone());
        }
        for (_, module) in &self.modules {
            if let Ok(f) = module.load_function(name) {
                cache.insert(name.to_string(), f.clone());
                return Ok(f);
            }
        }
        Err(Error::KernelMissing(name.to_string()))
    }

    /// Launch `kernel` with by-value arguments; check the launch (and, with
    /// `sync_each_launch`, its execution).
    pub(crate) fn launch(
        &self,
        kernel: &'static str,
        cfg: LaunchConfig,
        args: &[&dyn DeviceReprArg],
    ) -> Result<()> {
        crate::launch::check_block(kernel, cfg.block_dim)?;
        let func = self.function(kernel)?;
        self.allow_dynamic_shared(kernel, &func, cfg.shared_mem_bytes)?;
        let mut builder = self.stream.launch_builder(&func);
        for a in args {
            a.push_to(&mut builder);
        }
        let start = self.profile_event()?;
        // SAFETY: each kernel's parameter list is the sequence of #[repr(C)] structs passed here
        // (layouts checked against params.cuh), and every pointer inside them refers to a live
        // buffer of the size the kernel indexes (checked by the callers).
        unsafe { builder.launch(cfg) }.map_err(|source| Error::Launch { kernel, source })?;
        self.profile_end(kernel, start)?;
        if self.options.sync_each_launch {
            self.stream
                .synchronize()
                .and_then(|()| self.ctx.check_err())
                .map_err(|source| Error::Launch { kernel, source })?;
        }
        Ok(())
    }

    /// Launch a grid-stride kernel over `work` items ([`crate::launch::stride`]).
    pub(crate) fn launch_stride(
        &self,
        kernel: &'static str,
        work: usize,
        args: &[&dyn DeviceReprArg],
    ) -> Result<()> {
        self.launch(kernel, crate::launch::stride(kernel, work)?, args)
    }

    /// Launch a kernel of one thread per index below `threads` ([`crate::launch::per_thread`]).
    pub(crate) fn launch_per_thread(
        &self,
        kernel: &'static str,
        threads: usize,
        args: &[&dyn DeviceReprArg],
    ) -> Result<()> {
        self.launch(kernel, crate::launch::per_thread(kernel, threads)?, args)
    }

    /// With `profile_kernels`, an event recorded now on the stream (the start of a timed span).
    fn profile_event(&self) -> Result<Option<cudarc::driver::CudaEvent>> {
        if !self.options.profile_kernels {
            return Ok(None);
        }
        Ok(Some(self.timing_event()?))
    }

    /// An event that records time, recorded now on the stream. Not `record_event(None)`:
    /// cudarc creates those with `CU_EVENT_DISABLE_TIMING`, and `elapsed_ms` between them is
    /// `CUDA_ERROR_INVALID_HANDLE`.
    fn timing_event(&self) -> Result<cudarc::driver::CudaEvent> {
        Ok(self
            .stream
            .record_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?)
    }

    /// Close a timed span opened by [`Self::profile_event`].
    fn profile_end(
        &self,
        name: &'static str,
        start: Option<cudarc::driver::CudaEvent>,
    ) -> Result<()> {
        if let Some(start) = start {
            let end = self.timing_event()?;
            self.profile.push(name, start, end);
        }
        Ok(())
    }

    /// Device time per kernel (and per copy direction) since the last call, largest first;
    /// empty unless the backend was made with `profile_kernels`. Synchronizes the stream.
    pub fn take_kernel_times(&self) -> Result<Vec<crate::profile::KernelTime>> {
        if !self.options.profile_kernels {
            return Ok(Vec::new());
        }
        self.synchronize()?;
        self.profile.take()
    }

    /// Allocate `len` words (poisoned when the options say so).
    pub fn alloc(&self, len: usize) -> Result<DeviceBuffer> {
        // SAFETY: the memory is either poisoned right away or written by a kernel before it is
        // read; callers never read a fresh buffer before writing it.
        let slice = unsafe { self.stream.alloc::<u32>(len.max(1)) }?;
        let buf = DeviceBuffer::new(slice, len);
        if let Some(word) = self.options.poison {
            self.fill(&buf, word)?;
        }
        Ok(buf)
    }

    /// Fill a whole buffer with `word`.
    pub fn fill(&self, buf: &DeviceBuffer, word: u32) -> Result<()> {
        if buf.len == 0 {
            return Ok(());
        }
        let p = FillParams {
            dst: buf.ptr(&self.stream),
            n: buf.len as u64,
            value: word,
            _pad: 0,
        };
        let kernel = kernels::entry_any("fill_u32")?;
        self.launch(kernel, crate::launch::stride(kernel, buf.len)?, &[&p])
    }

    /// Upload words. With `pinned_uploads` (the default) the copy is queued from a pinned
    /// staging slot and the call returns at once; either way `words` may be changed as soon as
    /// it returns.
    pub fn upload_words(&self, words: &[u32]) -> Result<DeviceBuffer> {
        self.upload(&UploadSource::Words(words))
    }

    /// Upload `src` through the staging slots, or pageable when `pinned_uploads` is off.
    fn upload(&self, src: &UploadSource<'_>) -> Result<DeviceBuffer> {
        let len = src.len();
        if len == 0 {
            return self.alloc(0);
        }
        // SAFETY: the copies below write every word before any kernel or download reads it
        // (all on this stream, in order).
        let mut slice = unsafe { self.stream.alloc::<u32>(len) }?;
        let mut staging = self.staging.lock().unwrap_or_else(|p| p.into_inner());
        if self.options.pinned_uploads {
            self.upload_staged(&mut staging, src, &mut slice)?;
        } else {
            staging.count_pageable();
            self.copy_pageable(src, 0..len, &mut slice)?;
        }
        Ok(DeviceBuffer::new(slice, len))
    }

    /// Queue a copy of `host` into `dst` at word `at` (timed as "memcpy h2d" when profiling).
    pub(crate) fn copy_htod(
        &self,
        host: &[u32],
        dst: &mut CudaSlice<u32>,
        at: usize,
    ) -> Result<()> {
        let Some(mut view) = dst.try_slice_mut(at..at + host.len()) else {
            return Err(Error::InvalidShape(format!(
                "{} words copied at {at} into a buffer of {}",
                host.len(),
                dst.len()
            )));
        };
        let start = self.profile_event()?;
        self.stream.memcpy_htod(host, &mut view)?;
        self.profile_end("memcpy h2d", start)
    }

    /// This backend's upload counters and staging slot sizes.
    pub fn staging_stats(&self) -> StagingStats {
        self.staging
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stats()
    }

    /// Download words (synchronizes).
    pub fn download_words(&self, buf: &DeviceBuffer) -> Result<Vec<u32>> {
        let start = self.profile_event()?;
        let mut v = self.stream.clone_dtoh(&*buf.slice)?;
        self.profile_end("memcpy d2h", start)?;
        v.truncate(buf.len);
        Ok(v)
    }

    /// Download words `[start, start + len)` of a buffer (synchronizes).
    pub fn download_range(&self, buf: &DeviceBuffer, start: usize, len: usize) -> Result<Vec<u32>> {
        if start + len > buf.len {
            return Err(Error::InvalidShape(format!(
                "range {start}..{} outside a buffer of {} words",
                start + len,
                buf.len
            )));
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let timer = self.profile_event()?;
        let words = self
            .stream
            .clone_dtoh(&buf.slice.slice(start..start + len))?;
        self.profile_end("memcpy d2h", timer)?;
        Ok(words)
    }

    /// Device-to-device copy of a whole buffer into a new one.
    pub fn copy(&self, buf: &DeviceBuffer) -> Result<DeviceBuffer> {
        let mut out = self.alloc(buf.len)?;
        self.stream.memcpy_dtod(&*buf.slice, &mut *out.slice)?;
        Ok(out)
    }

    /// Device-to-device copy of words `[start, start + len)` of a buffer into a new one.
    pub fn copy_range(&self, buf: &DeviceBuffer, start: usize, len: usize) -> Result<DeviceBuffer> {
        if start + len > buf.len {
            return Err(Error::InvalidShape(format!(
                "range {start}..{} outside a buffer of {} words",
                start + len,
                buf.len
            )));
        }
        let mut out = self.alloc(len)?;
        if len > 0 {
            self.stream
                .memcpy_dtod(&buf.slice.slice(start..start + len), &mut *out.slice)?;
        }
        Ok(out)
    }

    /// The first `2^log_n` rows of `m` in bit-reversed row order (one `bitrev_rows` launch):
    /// bit-reversed evaluations back to natural order, or the reverse.
    pub fn bitrev_rows<F: DeviceField>(
        &self,
        m: &DeviceMatrix<F>,
        log_n: u32,
    ) -> Result<DeviceMatrix<F>> {
        let n = 1usize
            .checked_shl(log_n)
            .filter(|&n| n <= m.height && log_n < 32);
        let Some(n) = n else {
            return Err(Error::InvalidShape(format!(
                "2^{log_n} bit-reversed rows of a matrix of {} rows",
                m.height
            )));
        };
        let out = self.alloc(n * m.width)?;
        if n * m.width > 0 {
            let p = crate::abi::BitrevRowsParams {
                input: m.buf.ptr(&self.stream),
                in_stride: m.height as u64,
                out: out.ptr(&self.stream),
                log_n,
                width: m.width as u32,
            };
            let kernel = kernels::entry_any("bitrev_rows")?;
            self.launch(kernel, crate::launch::stride(kernel, n * m.width)?, &[&p])?;
        }
        DeviceMatrix::from_buffer(out, n, m.width)
    }

    /// Upload a column-major matrix: `values[c * height + r]` is row r of column c.
    pub fn upload_columns<F: DeviceField>(
        &self,
        values: &[F],
        height: usize,
        width: usize,
    ) -> Result<DeviceMatrix<F>> {
        if values.len() != height * width {
            return Err(Error::InvalidShape(format!(
                "{} values for a {height} x {width} matrix",
                values.len()
            )));
        }
        Ok(DeviceMatrix {
            buf: self.upload_words(F::as_words(values))?,
            height,
            width,
            _f: PhantomData,
        })
    }

    /// Upload a row-major Plonky3 matrix, transposed to column-major on the host: straight
    /// into the pinned staging slots (chunk by chunk) with `pinned_uploads`, else into a
    /// temporary vector copied pageable.
    pub fn upload_row_major<F: DeviceField>(
        &self,
        m: &RowMajorMatrix<F>,
    ) -> Result<DeviceMatrix<F>> {
        let (height, width) = (m.height(), m.width());
        let words = F::as_words(&m.values);
        if words.len() < height * width {
            return Err(Error::InvalidShape(format!(
                "{} values for a {height} x {width} matrix",
                words.len()
            )));
        }
        Ok(DeviceMatrix {
            buf: self.upload(&UploadSource::RowMajor {
                words,
                height,
                width,
            })?,
            height,
            width,
            _f: PhantomData,
        })
    }

    /// Download a matrix column-major (`out[c * height + r]`); fails on non-canonical words.
    pub fn download_columns<F: DeviceField>(&self, m: &DeviceMatrix<F>) -> Result<Vec<F>> {
        F::vec_from_words(self.download_words(&m.buf)?)
    }

    /// Download a matrix as a row-major Plonky3 matrix.
    pub fn download_row_major<F: DeviceField>(
        &self,
        m: &DeviceMatrix<F>,
    ) -> Result<RowMajorMatrix<F>> {
        let cols = self.download_columns(m)?;
        let (h, w) = (m.height, m.width);
        let mut rows = vec![F::ZERO; h * w];
        for c in 0..w {
            for r in 0..h {
                rows[r * w + c] = cols[c * h + r];
            }
        }
        Ok(RowMajorMatrix::new(rows, w.max(1)))
    }

    pub(crate) fn table(
        &self,
        key: TableKey,
        make: impl FnOnce() -> Result<Vec<u32>>,
    ) -> Result<Arc<DeviceBuffer>> {
        if let Some(t) = self.tables.lock().unwrap().get(&key) {
            return Ok(t.clone());
        }
        let t = Arc::new(self.upload_words(&make()?)?);
        self.tables.lock().unwrap().insert(key, t.clone());
        Ok(t)
    }
}

/// A device allocation of u32 words, freed on drop (RAII through cudarc's `CudaSlice`), from
/// any thread: the drop makes the buffer's context current first, because cudarc's free
/// (`cuMemFreeAsync`) does not, and on a thread where the context is not current the free
/// fails and its error surfaces in some later, unrelated call.
pub struct DeviceBuffer {
    slice: ManuallyDrop<CudaSlice<u32>>,
    len: usize,
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        bind_context(self.slice.context());
        // SAFETY: dropped exactly once, here; `slice` is not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.slice) };
    }
}

impl DeviceBuffer {
    fn new(slice: CudaSlice<u32>, len: usize) -> Self {
        Self {
            slice: ManuallyDrop::new(slice),
            len,
        }
    }

    /// Words in the buffer.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer holds no words.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Raw device address, for parameter structs.
    pub fn ptr(&self, stream: &CudaStream) -> u64 {
        let (ptr, _sync) = self.slice.device_ptr(stream);
        ptr
    }
}

/// A matrix on the device, column-major: column c is words `[c * height, (c + 1) * height)`.
/// Words are Montgomery-form elements of `F`, bit-identical to a host `&[F]`.
pub struct DeviceMatrix<F> {
    pub(crate) buf: DeviceBuffer,
    pub(crate) height: usize,
    pub(crate) width: usize,
    pub(crate) _f: PhantomData<F>,
}

impl<F: DeviceField> DeviceMatrix<F> {
    /// Rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Columns.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The underlying buffer.
    pub fn buffer(&self) -> &DeviceBuffer {
        &self.buf
    }

    /// Wrap a buffer holding `height * width` words, column-major.
    pub fn from_buffer(buf: DeviceBuffer, height: usize, width: usize) -> Result<Self> {
        if buf.len() != height * width {
            return Err(Error::InvalidShape(format!(
                "buffer of {} words for a {height} x {width} matrix",
                buf.len()
            )));
        }
        Ok(Self {
            buf,
            height,
            width,
            _f: PhantomData,
        })
    }
}
