/*
 * gupprobe: the deterministic probes of `gupcheck conform`, run as /init's child inside a real
 * kernel booted under QEMU, on an ext4 filesystem mounted at /mnt (a virtio disk) and a tmpfs at
 * /tmp.  Each case performs one scenario's syscalls for real and prints ONE line
 *
 *     PROBE <group>/<case> key=value; key=value; ...
 *
 * The cases that exercise a filesystem also run on XFS (mounted at /xfs when the guest has the
 * XFS disk): the same code with the files on /xfs, printed as "PROBE xfs/<group>/<case>" for the
 * deterministic ones and "PROBE race/xfs_<case>" for the racy ones (argument "xfs", "xfs/<group>"
 * or "xfs/<group>/<case>"; "race/xfs_<case>").
 *
 * in the vocabulary of docs/conformance.md: page contents are
 * summarised as pattern runs ("B.1*16", "A.0*8,zero*8").  A page of pattern X.n is the 4-byte
 * tag "X.n " repeated, so a page is recognised wherever it lands (another offset, another file).
 *
 * Usage: gupprobe [all] [GROUP ...] [iterations=N]
 *   (no group, or "all": every deterministic group; the racy group "race" runs only when
 *   named, since its cost grows with N; unknown groups print PROBE-ERROR)
 * Build: gcc -O2 -static -pthread -o gupprobe gupprobe.c -luring
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096L

/* ---- output: one line per case, built up then flushed at once ---- */

static char line[8192];

/* where a case's files live: ext4 at /mnt, or XFS at /xfs (use_xfs); the device they are on
 * (read raw by the RF_DEV race cases); the prefixes the XFS cases print before group / case */
static const char *fs_dir = "/mnt";
static char race_dev[64] = "/dev/vda";
static const char *group_prefix = "", *case_prefix = "";

/* fs_dir/name, in one of 8 rotating buffers (a case holds a few paths at once) */
static const char *at(const char *name)
{
	static char buf[8][128];
	static int i;
	char *b = buf[i++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", fs_dir, name);
	return b;
}

#define XFS_SUPER_MAGIC 0x58465342 /* "XFSB", include/uapi/linux/magic.h */

/* the files on /xfs from now on, the device under it as a node made from its st_dev
 * (devtmpfs names it vdb or vdc depending on the other disks): 0, or -1 without XFS there */
static int use_xfs(void)
{
	struct stat root, st;
	struct statfs sf;

	if (stat("/", &root) || stat("/xfs", &st) || st.st_dev == root.st_dev ||
	    statfs("/xfs", &sf) || sf.f_type != XFS_SUPER_MAGIC)
		return -1;
	unlink("/tmp/xfs_dev");
	if (mknod("/tmp/xfs_dev", S_IFBLK | 0600, st.st_dev))
		return -1;
	fs_dir = "/xfs";
	snprintf(race_dev, sizeof(race_dev), "/tmp/xfs_dev");
	return 0;
}

static void use_ext4(void)
{
	fs_dir = "/mnt";
	snprintf(race_dev, sizeof(race_dev), "/dev/vda");
	group_prefix = case_prefix = "";
}

static int on_xfs(void)
{
	return !strcmp(fs_dir, "/xfs");
}

static void kv(const char *fmt, ...)
{
	size_t n = strlen(line);
	va_list ap;

	if (n && line[n - 1] != ' ')
		n += snprintf(line + n, sizeof(line) - n, "; ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
}

static void begin(const char *group, const char *name)
{
	snprintf(line, sizeof(line), "PROBE %s%s/%s%s ", group_prefix, group, case_prefix, name);
}

static void end(void)
{
	size_t n = strlen(line);

	while (n && line[n - 1] == ' ')
		line[--n] = 0;
	printf("%s\n", line);
	fflush(stdout);
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EFAULT: return "EFAULT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	case EBUSY: return "EBUSY";
	case EILSEQ: return "EILSEQ";
	default: {
		static char buf[16];
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
	}
}

static void die(const char *what)
{
	kv("error=%s:%s", what, errname(errno));
	end();
}

/* ---- page patterns ---- */

static void fill(char *p, long pages, char letter, int gen)
{
	char tag[4] = { letter, '.', (char)('0' + gen), ' ' };

	for (long i = 0; i < pages * PG; i += 4)
		memcpy(p + i, tag, 4);
}

/* "X.n", "zero" or "mixed" for one page */
static void classify(const char *p, char *out)
{
	int zero = 1, uniform = 1;

	for (long i = 0; i < PG; i++)
		if (p[i]) { zero = 0; break; }
	if (zero) { strcpy(out, "zero"); return; }
	if (p[1] != '.' || p[3] != ' ')
		uniform = 0;
	for (long i = 4; uniform && i < PG; i += 4)
		if (memcmp(p, p + i, 4))
			uniform = 0;
	if (uniform)
		snprintf(out, 8, "%c.%c", p[0], p[2]);
	else
		strcpy(out, "mixed");
}

/* run-length summary: "B.1*16" or "B.1*8,zero*8"; star=0 prints a single page bare ("P.0") */
static void summary(const char *key, const char *p, long pages, int star)
{
	char buf[1024] = "", cur[8] = "", c[8];
	long run = 0;

	for (long i = 0; i <= pages; i++) {
		if (i < pages)
			classify(p + i * PG, c);
		if (i < pages && run && !strcmp(c, cur)) { run++; continue; }
		if (run) {
			size_t n = strlen(buf);
			if (star || pages > 1)
				snprintf(buf + n, sizeof(buf) - n, "%s%s*%ld", n ? "," : "", cur, run);
			else
				snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "", cur);
		}
		if (i < pages) { strcpy(cur, c); run = 1; }
	}
	kv("%s=%s", key, pages ? buf : "empty");
}

/* ---- files ---- */

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd >= 0) {
		if (write(fd, "3\n", 2) < 0) { /* best effort */ }
		close(fd);
	}
}

/* a file of `pages` pages: pattern (letter, gen), or a hole when letter == 0; fsynced */
static int make_file(const char *path, long pages, char letter, int gen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *buf;

	if (fd < 0)
		return -1;
	if (!letter)
		return ftruncate(fd, pages * PG) ? -1 : (fsync(fd), close(fd), 0);
	buf = aligned_alloc(PG, pages * PG);
	fill(buf, pages, letter, gen);
	if (write(fd, buf, pages * PG) != pages * PG)
		return -1;
	free(buf);
	fsync(fd);
	close(fd);
	return 0;
}

static void append_pattern(const char *path, long pages, char letter, int gen)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	char *buf = aligned_alloc(PG, pages * PG);

	fill(buf, pages, letter, gen);
	if (fd < 0 || write(fd, buf, pages * PG) != pages * PG)
		perror("append");
	fsync(fd);
	close(fd);
	free(buf);
}

/* what O_DIRECT (direct=1) or a buffered read returns for the whole file */
static void file_summary(const char *key, const char *path, int direct)
{
	int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	struct stat st;
	char *buf;
	long pages;

	if (fd < 0 || fstat(fd, &st)) { kv("%s=error:%s", key, errname(errno)); return; }
	pages = st.st_size / PG;
	buf = aligned_alloc(PG, (pages ? pages : 1) * PG);
	if (pread(fd, buf, pages * PG, 0) != pages * PG)
		kv("%s=error:%s", key, errname(errno));
	else
		summary(key, buf, pages, 1);
	free(buf);
	close(fd);
}

/* ---- SIGBUS-safe touches ---- */

static sigjmp_buf jb;
static void on_sigbus(int sig) { (void)sig; siglongjmp(jb, 1); }

/* read one byte of p: "ok" or "SIGBUS" */
static const char *touch(volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	const char *r = "ok";

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(jb, 1))
		r = "SIGBUS";
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return r;
}

/* ---- dio_into_mmap ---- */

/*
 * File A is mapped and 16 pages of file B are read with O_DIRECT into the mapping; then
 * msync(MS_SYNC), fsync, munmap, and the file is read back with O_DIRECT (disk) and, after
 * drop_caches, with a buffered read (reread_after_drop).
 */
static void dio_into_mmap(const char *name)
{
	const char *A = at("dio_A"), *B = at("dio_B");
	int private = !strcmp(name, "private_mapping");
	int same = !strncmp(name, "same_file", 9);
	long file_pages = 16, map_pages = 16, off = 0;
	long n = 16 * PG;
	char *map;
	const char *touched;
	int fd, fdb;
	ssize_t ret;

	begin("dio_into_mmap", name);
	if (!strcmp(name, "sparse_hole"))
		make_file(A, 16, 0, 0);
	else if (!strcmp(name, "beyond_eof"))
		make_file(A, file_pages = 8, 'A', 0);
	else if (same) {
		make_file(A, 16, 'A', 0);
		append_pattern(A, 16, 'A', 5);
		file_pages = map_pages = 32;
		off = 16 * PG;
	} else
		make_file(A, 16, 'A', 0);
	if (make_file(B, 16, 'B', 1))
		return die("make_file");
	drop_caches();
	fd = open(A, O_RDWR);
	map = mmap(NULL, map_pages * PG, PROT_READ | PROT_WRITE,
		   private ? MAP_PRIVATE : MAP_SHARED, fd, 0);
	if (fd < 0 || map == MAP_FAILED)
		return die("mmap");
	if (!strcmp(name, "prefaulted_clean"))
		for (long i = 0; i < 16; i++)
			(void)*(volatile char *)(map + i * PG);
	if (!strcmp(name, "prefaulted_dirty"))
		fill(map, 16, 'D', 0);
	if (!strcmp(name, "same_file_read")) {
		fdb = open(A, O_RDONLY | O_DIRECT);
		ret = pread(fdb, map + off, n, 0);
	} else if (!strcmp(name, "same_file_write_from_mapping")) {
		fdb = open(A, O_WRONLY | O_DIRECT);
		ret = pwrite(fdb, map + off, n, 0);
	} else {
		fdb = open(B, O_RDONLY | O_DIRECT);
		ret = read(fdb, map, n);
	}
	kv("read_ret=%zd", ret);
	kv("read_errno=%s", ret < 0 ? errname(errno) : "0");
	close(fdb);
	summary("mem", map + off, file_pages < 16 ? file_pages : 16, 1);
	msync(map, map_pages * PG, MS_SYNC);
	fsync(fd);
	touched = !strcmp(name, "beyond_eof") ? touch(map + file_pages * PG) : NULL;
	munmap(map, map_pages * PG);
	close(fd);
	file_summary("disk", A, 1);
	drop_caches();
	file_summary("reread_after_drop", A, 0);
	if (touched)
		kv("touch_beyond_eof=%s", touched);
	end();
	unlink(A);
	unlink(B);
}

/* ---- io_uring IORING_REGISTER_BUFFERS per mapping type ---- */

#define RPAGES 4

static int register_buf(struct io_uring *ring, void *p, size_t len)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };

	return io_uring_register_buffers(ring, &iov, 1); /* 0 or -errno */
}

static void *map_file(const char *path, long pages, int prot, int flags, char letter)
{
	int fd;
	void *p;

	make_file(path, pages, letter, 0);
	fd = open(path, (prot & PROT_WRITE) ? O_RDWR : O_RDONLY);
	p = mmap(NULL, pages * PG, prot, flags, fd, 0);
	close(fd);
	return p;
}

static void iouring_register(const char *name)
{
	struct io_uring ring;
	size_t len = RPAGES * PG;
	int rw = PROT_READ | PROT_WRITE, ro = PROT_READ;
	char *p = MAP_FAILED;
	int ret;

	begin("iouring_register_filebacked", name);
	if (io_uring_queue_init(4, &ring, 0))
		return die("io_uring_queue_init");
	if (!strncmp(name, "ext4_", 5)) {
		int shared = !strncmp(name, "ext4_shared", 11);
		p = map_file(at("reg"), RPAGES, strstr(name, "_ro") ? ro : rw,
			     shared ? MAP_SHARED : MAP_PRIVATE, 'A');
		if (p != MAP_FAILED && strstr(name, "prefaulted"))
			for (long i = 0; i < RPAGES; i++)
				(void)*(volatile char *)(p + i * PG);
	} else if (!strcmp(name, "anon_rw") || !strcmp(name, "anon_ro")) {
		p = mmap(NULL, len, strstr(name, "_ro") ? ro : rw, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	} else if (!strncmp(name, "memfd_", 6)) {
		int fd = memfd_create("probe", 0);
		if (ftruncate(fd, len) == 0)
			p = mmap(NULL, len, rw, strstr(name, "shared") ? MAP_SHARED : MAP_PRIVATE,
				 fd, 0);
		close(fd);
	} else if (!strcmp(name, "tmpfs_shared_rw")) {
		p = map_file("/tmp/reg", RPAGES, rw, MAP_SHARED, 'A');
	} else if (!strcmp(name, "hugetlb_anon_rw")) {
		len = 2L << 20;
		p = mmap(NULL, len, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	} else if (!strcmp(name, "anon_plus_ext4_shared") ||
		   !strcmp(name, "ext4_shared_plus_anon")) {
		/* one iovec over two VMAs, anonymous and shared ext4, in the order named */
		int ext4_first = !strncmp(name, "ext4", 4), fd;
		p = mmap(NULL, 2 * len, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		make_file(at("reg"), RPAGES, 'A', 0);
		fd = open(at("reg"), O_RDWR);
		if (p == MAP_FAILED || mmap(p + (ext4_first ? 0 : len), len, rw,
					    MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
			p = MAP_FAILED;
		close(fd);
		len *= 2;
	} else {
		kv("error=unknown_case");
		end();
		return;
	}
	if (p == MAP_FAILED)
		return die("mmap");
	ret = register_buf(&ring, p, len);
	kv("ret=%d", ret < 0 ? -1 : ret);
	kv("errno=%s", errname(ret < 0 ? -ret : 0));
	end();
	io_uring_queue_exit(&ring);
	munmap(p, len);
	unlink(at("reg"));
	unlink("/tmp/reg");
}

/* ---- truncate_while_pinned ---- */

/* io_uring READ_FIXED (write_fixed=0) or WRITE_FIXED of buffer 0 from/to fd: bytes or -errno */
static int fixed_io(struct io_uring *ring, int fd, void *buf, unsigned len, int write_fixed)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	if (write_fixed)
		io_uring_prep_write_fixed(sqe, fd, buf, len, 0, 0);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, len, 0, 0);
	io_uring_submit(ring);
	if (io_uring_wait_cqe(ring, &cqe))
		return -EIO;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/* what a registered buffer holds, seen through a WRITE_FIXED into a scratch file */
static void pinned_summary(struct io_uring *ring, const char *key, void *buf, long pages)
{
	int fd = open("/tmp/scratch", O_RDWR | O_CREAT | O_TRUNC, 0644);
	int r = fixed_io(ring, fd, buf, pages * PG, 1);

	if (r != pages * PG)
		kv("%s=error:%d", key, r);
	else
		file_summary(key, "/tmp/scratch", 0);
	close(fd);
	unlink("/tmp/scratch");
}

static void truncate_while_pinned(const char *name)
{
	const long pages = 4;
	size_t len = pages * PG;
	struct io_uring ring;
	char *p;
	int fd, ffd, ret;

	begin("truncate_while_pinned", name);
	if (!strcmp(name, "iouring_memfd_shared")) {
		fd = memfd_create("probe", 0);
		if (ftruncate(fd, len))
			return die("ftruncate");
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		fill(p, pages, 'M', 0);
	} else if (!strncmp(name, "iouring_ext4_", 13) || !strcmp(name, "vmsplice_ext4_shared")) {
		make_file(at("trunc"), pages, 'A', 0);
		fd = open(at("trunc"), O_RDWR);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 strstr(name, "private") ? MAP_PRIVATE : MAP_SHARED, fd, 0);
	} else {
		kv("error=unknown_case");
		end();
		return;
	}
	if (fd < 0 || p == MAP_FAILED)
		return die("mmap");
	if (!strcmp(name, "vmsplice_ext4_shared")) {
		int pipefd[2];
		struct iovec iov = { .iov_base = p, .iov_len = len };
		char *buf = aligned_alloc(PG, len);
		ssize_t v, r;

		if (pipe(pipefd))
			return die("pipe");
		v = vmsplice(pipefd[1], &iov, 1, 0);
		kv("truncate_ret=%d", ftruncate(fd, 0));
		kv("touch_after_truncate=%s", touch(p));
		kv("vmsplice_ret=%zd", v);
		r = read(pipefd[0], buf, len);
		if (r != (ssize_t)len)
			kv("pipe_data=short:%zd", r);
		else
			summary("pipe_data", buf, pages, 1);
		close(pipefd[0]);
		close(pipefd[1]);
		free(buf);
		goto out;
	}
	if (io_uring_queue_init(4, &ring, 0))
		return die("io_uring_queue_init");
	ret = register_buf(&ring, p, len);
	if (ret < 0) {
		kv("skip=register_refused");
		kv("register_ret=-1");
		kv("register_errno=%s", errname(-ret));
		io_uring_queue_exit(&ring);
		goto out;
	}
	kv("register_ret=%d", ret);
	summary("pinned_before", p, pages, 1);
	kv("truncate_ret=%d", ftruncate(fd, 0));
	kv("touch_after_truncate=%s", touch(p));
	make_file("/mnt/fixed_src", pages, 'F', 2);
	ffd = open("/mnt/fixed_src", O_RDONLY);
	kv("read_fixed_after_truncate=%d", fixed_io(&ring, ffd, p, len, 0));
	close(ffd);
	unlink("/mnt/fixed_src");
	pinned_summary(&ring, "pinned_after_read_fixed", p, pages);
	if (ftruncate(fd, len))
		kv("regrow=error:%s", errname(errno));
	summary("mapping_after_regrow", p, pages, 1);
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
out:
	end();
	munmap(p, len);
	close(fd);
	unlink(at("trunc"));
}

/* ---- fork_cow_pinned ---- */

static char *anon_page(char letter, int gen)
{
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		fill(p, 1, letter, gen);
	return p;
}

/* the child's report travels back to the parent through a pipe, so each case is one line */
static void child_report(int fd, const char *page)
{
	char c[8];

	classify(page, c);
	if (write(fd, c, sizeof(c)) != sizeof(c))
		_exit(1);
}

static void fork_cow_pinned(const char *name)
{
	struct io_uring ring;
	char c[8] = "?", *p = anon_page('P', 0);
	int to_child[2], from_child[2], ffd;
	pid_t pid;

	begin("fork_cow_pinned", name);
	if (p == MAP_FAILED || pipe(to_child) || pipe(from_child))
		return die("setup");
	make_file("/mnt/fixed_src", 1, 'F', 2);
	ffd = open("/mnt/fixed_src", O_RDONLY);
	if (!strncmp(name, "iouring_pin_fork_", 17)) {
		int child_writes = !strcmp(name, "iouring_pin_fork_child_writes");

		if (io_uring_queue_init(4, &ring, 0) || register_buf(&ring, p, PG) < 0)
			return die("register");
		pid = fork();
		if (pid == 0) {
			char go;
			if (child_writes)
				fill(p, 1, 'C', 0);
			else if (read(to_child[0], &go, 1) != 1)
				_exit(1);
			child_report(from_child[1], p);
			_exit(0);
		}
		if (child_writes) {
			if (read(from_child[0], c, sizeof(c)) != sizeof(c))
				strcpy(c, "none");
			kv("child_view_after_write=%s", c);
			summary("pinned_page_holds", p, 1, 1);
			fixed_io(&ring, ffd, p, PG, 0);
			summary("parent_view_after_read_fixed", p, 1, 0);
		} else {
			fill(p, 1, 'P', 1);
			fixed_io(&ring, ffd, p, PG, 0);
			summary("parent_view_after_read_fixed", p, 1, 0);
			if (write(to_child[1], "g", 1) != 1 ||
			    read(from_child[0], c, sizeof(c)) != sizeof(c))
				strcpy(c, "none");
			kv("child_view=%s", c);
		}
		waitpid(pid, NULL, 0);
		io_uring_queue_exit(&ring);
	} else if (!strcmp(name, "vmsplice_cve_2020_29374")) {
		/* the child vmsplices the shared page, unmaps it; the parent writes its secret */
		pid = fork();
		if (pid == 0) {
			int pp[2];
			struct iovec iov = { .iov_base = p, .iov_len = PG };
			char *buf = aligned_alloc(PG, PG), go;
			ssize_t v;

			if (pipe(pp))
				_exit(1);
			v = vmsplice(pp[1], &iov, 1, 0);
			munmap(p, PG);
			if (write(from_child[1], &v, sizeof(v)) != sizeof(v) ||
			    read(to_child[0], &go, 1) != 1 || read(pp[0], buf, PG) != PG)
				_exit(1);
			child_report(from_child[1], buf);
			_exit(0);
		}
		ssize_t v = -1;
		if (read(from_child[0], &v, sizeof(v)) != sizeof(v))
			v = -1;
		fill(p, 1, 'P', 1); /* the parent's secret */
		if (write(to_child[1], "g", 1) != 1 || read(from_child[0], c, sizeof(c)) != sizeof(c))
			strcpy(c, "none");
		waitpid(pid, NULL, 0);
		kv("vmsplice_ret=%zd", v);
		kv("child_pipe_sees=%s", c);
		kv("leak=%s", !strcmp(c, "P.1") ? "True" : "False");
	} else if (!strcmp(name, "vmsplice_then_write_same_process")) {
		int pp[2];
		struct iovec iov = { .iov_base = p, .iov_len = PG };
		char *buf = aligned_alloc(PG, PG);
		ssize_t v;

		if (pipe(pp))
			return die("pipe");
		v = vmsplice(pp[1], &iov, 1, 0);
		fill(p, 1, 'P', 1);
		kv("vmsplice_ret=%zd", v);
		if (read(pp[0], buf, PG) != PG)
			kv("pipe_sees=short");
		else
			summary("pipe_sees", buf, 1, 0);
	} else {
		kv("error=unknown_case");
	}
	end();
	close(ffd);
	unlink("/mnt/fixed_src");
}

/* ---- race: O_DIRECT into a shared mapping against msync / MADV_PAGEOUT, N times ---- */

/*
 * Racy probes cannot be summarised as one outcome: each iteration may or may not hit the
 * window.  So a race case runs `iterations` rounds and prints COUNTS; gupcheck compares them
 * with the model as "mismatches possible" (confirmed only if some count is > 0) or "none".
 *
 * Each round: an O_DIRECT read of 16 pages of file B (generation g = round % 10 + 1, so two
 * consecutive rounds differ) into a MAP_SHARED mapping of ext4 file A, while a racer thread
 * loops msync(MS_SYNC) (dio_vs_msync) or msync + madvise(MADV_PAGEOUT) (dio_vs_pageout) on
 * the same range.  Then, with the racer still running, msync(MS_SYNC)+fsync at once (before
 * a re-dirtying deferred to bio_dirty_work has run, if the window was hit), and:
 *   mem_mismatch    the mapping does not hold B.g (the DMA went somewhere else)
 *   disk_mismatch   an O_DIRECT read of A differs from the mapping
 *                   (a lost write: fsync returned 0 without the data)
 *   reread_mismatch after zapping the PTEs and POSIX_FADV_DONTNEED, a buffered read of A
 *                   differs from what the mapping held (what a later reader gets)
 * The kernel log is read with klogctl before and after; the new "WARNING:" lines and ext4's
 * "does not have buffers attached" lines are counted (the 2018 crash reports, F1).
 *
 * The helpers below are shared by every race case: the files (race_open/race_close), the
 * kernel log counts (kmsg_scan), the racer threads, and the end of a round (race_check).
 */

#define RACE_PAGES 16L
#define RACE_GENS 10

static long iterations = 200;
static volatile int race_stop;

/* a race case's files, as race_open opens them (-1 / NULL: not asked for), and what its racer
 * thread counts */
struct race_files {
	const char *a, *b; /* file A (the mapped one) and B (generations, NULL: none) */
	int fd;            /* A, O_RDWR */
	int fdb;           /* B, O_RDONLY | O_DIRECT */
	int fdd;           /* A, O_DIRECT: O_RDONLY (RF_DIRECT) or O_WRONLY (RF_DIRECT_W) */
	int fdr;           /* A, O_RDONLY: buffered re-reads */
	int dev;           /* race_dev, O_RDONLY | O_DIRECT (RF_DEV) */
	long *phys;        /* RF_DEV: A's pages on race_dev (file_phys) */
	char *map;         /* RACE_PAGES of A, MAP_SHARED (RF_MAP, or mapped by the case) */
	int pageout;       /* msync_racer: madvise(MADV_PAGEOUT) after each msync */
	long loops;        /* the racer's rounds (racer_loops) */
	long racer_errs, racer_errno; /* msync_racer: its failed msyncs and the last errno */
};

#define RF_DIRECT 1   /* fdd: A with O_RDONLY | O_DIRECT */
#define RF_DIRECT_W 2 /* fdd: A with O_WRONLY | O_DIRECT */
#define RF_DEV 4      /* dev and phys: A read from the device's blocks */
#define RF_MAP 8      /* map: A mapped MAP_SHARED */

/* what a race case counts in its rounds */
struct race_counts {
	long rounds;             /* rounds checked to the end (iterations=) */
	long mem, disk, reread;  /* mem_mismatch, disk_mismatch, reread_mismatch */
	long read_eio, read_eilseq; /* reads of A (disk, re-read) that failed with EIO / EILSEQ */
	long efault, shortr;     /* the round's DMA read failed (read_efault) or was short */
};

/* racer of dio_vs_msync, dio_vs_pageout, btrfs_* and pi_* (the flusher): msync(MS_SYNC) of the
 * mapping in a loop, counting its failures; with rf->pageout, madvise(MADV_PAGEOUT) after each
 * msync (kswapd reclaiming the clean page) */
static void *msync_racer(void *arg)
{
	struct race_files *rf = arg;

	while (!race_stop) {
		if (msync(rf->map, RACE_PAGES * PG, MS_SYNC)) {
			rf->racer_errno = errno;
			__atomic_add_fetch(&rf->racer_errs, 1, __ATOMIC_RELEASE);
		}
#ifdef MADV_PAGEOUT
		if (rf->pageout)
			madvise(rf->map, RACE_PAGES * PG, MADV_PAGEOUT);
#endif
		rf->loops++;
	}
	return NULL;
}

/* a kernel log line a race case counts: printed as `field` ("name=") followed by how many
 * lines with `needle` appeared during the case (-1: the log could not be read) */
struct kmsg_watch {
	const char *field, *needle;
	long before;
};

#define KMSG_WARNINGS { "kmsg_warnings=", "WARNING:", 0 }
#define KMSG_NO_BUFFERS { "ext4_no_buffers=", "does not have buffers attached", 0 }
#define KMSG_END { NULL, NULL, 0 }
/* on XFS: any new "XFS (dev): ..." line (xfs_discard_folio's "page discard on page", a
 * corruption or I/O error report) */
#define KMSG_XFS { "xfs_messages=", "XFS (", 0 }

/* the filesystem's own watch: ext4's "no buffers" line, or XFS's messages */
static struct kmsg_watch kmsg_fs(void)
{
	return on_xfs() ? (struct kmsg_watch)KMSG_XFS : (struct kmsg_watch)KMSG_NO_BUFFERS;
}

/* count each watched needle (up to KMSG_END) in the whole kernel log buffer (klogctl
 * READ_ALL), -1 if the log cannot be read: before the rounds (report=0) keep the counts, after
 * them (report=1) print each field's increase */
static void kmsg_scan(struct kmsg_watch *w, int report)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *p;
	int n;

	if (size <= 0)
		size = 1 << 20;
	buf = malloc(size + 1);
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (n >= 0)
		buf[n] = 0;
	for (; w->field; w++) {
		long c = n < 0 ? -1 : 0;

		for (p = buf; n >= 0 && (p = strstr(p, w->needle)); p++)
			c++;
		if (report)
			kv("%s%ld", w->field, w->before < 0 ? -1 : c - w->before);
		else
			w->before = c;
	}
	free(buf);
}

static int pages_equal_gen(const char *p, long pages, char letter, int gen)
{
	char tag[4] = { letter, '.', (char)('0' + gen), ' ' };

	for (long i = 0; i < pages * PG; i += 4)
		if (memcmp(p + i, tag, 4))
			return 0;
	return 1;
}

/* the byte offset on race_dev of each of the file's first `pages` pages (-1: none), from
 * FIEMAP without FIEMAP_FLAG_SYNC (it would write the file back): call it once the file's
 * blocks are allocated (make_file fsyncs); ext4 overwrites them in place afterwards */
static long *file_phys(int fd, long pages)
{
	size_t sz = sizeof(struct fiemap) + 64 * sizeof(struct fiemap_extent);
	struct fiemap *fm = calloc(1, sz);
	long *phys = malloc(pages * sizeof(long));

	for (long i = 0; i < pages; i++)
		phys[i] = -1;
	fm->fm_length = pages * PG;
	fm->fm_extent_count = 64;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) == 0)
		for (unsigned e = 0; e < fm->fm_mapped_extents; e++) {
			struct fiemap_extent *x = &fm->fm_extents[e];

			if (x->fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC |
					   FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_ENCODED))
				continue;
			for (__u64 off = 0; off < x->fe_length; off += PG) {
				long i = (long)((x->fe_logical + off) / PG);
				if (i < pages)
					phys[i] = (long)(x->fe_physical + off);
			}
		}
	free(fm);
	return phys;
}

/* the file's pages as the device holds them, one read per run of contiguous blocks (few
 * requests: the disk may be throttled); 0, or -1 if a page has no block or a read fails */
static int raw_read(int dev, const long *phys, long pages, char *buf)
{
	for (long i = 0, j; i < pages; i = j) {
		if (phys[i] < 0)
			return -1;
		for (j = i + 1; j < pages && phys[j] == phys[i] + (j - i) * PG; j++)
			;
		if (pread(dev, buf + i * PG, (j - i) * PG, phys[i]) != (j - i) * PG)
			return -1;
	}
	return 0;
}

/* the last steps before a race case's rounds: drop the caches, count the kernel log lines of
 * km (kmsg_scan), open the case's files (the RF_* flags say which; b NULL: no B).  0, or -1
 * once die() has printed "open" ("open/mmap" with RF_MAP), or "fiemap" (RF_DEV) if A's blocks
 * on the device do not hold A.0 */
static int race_open(struct race_files *rf, const char *a, const char *b, int flags,
		     struct kmsg_watch *km)
{
	long n = RACE_PAGES * PG;
	int ok;

	drop_caches();
	kmsg_scan(km, 0);
	*rf = (struct race_files){ .a = a, .b = b, .fdb = -1, .fdd = -1, .dev = -1 };
	ok = (rf->fd = open(a, O_RDWR)) >= 0;
	if (b)
		ok &= (rf->fdb = open(b, O_RDONLY | O_DIRECT)) >= 0;
	if (flags & (RF_DIRECT | RF_DIRECT_W))
		ok &= (rf->fdd = open(a, (flags & RF_DIRECT_W ? O_WRONLY : O_RDONLY) |
				      O_DIRECT)) >= 0;
	ok &= (rf->fdr = open(a, O_RDONLY)) >= 0;
	if (flags & RF_DEV)
		ok &= (rf->dev = open(race_dev, O_RDONLY | O_DIRECT)) >= 0;
	if (flags & RF_MAP)
		ok &= (rf->map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, rf->fd, 0)) !=
		      MAP_FAILED;
	if (!ok) {
		die(flags & RF_MAP ? "open/mmap" : "open");
		return -1;
	}
	if (flags & RF_DEV) {
		char *buf = aligned_alloc(PG, n);

		rf->phys = file_phys(rf->fd, RACE_PAGES);
		ok = !raw_read(rf->dev, rf->phys, RACE_PAGES, buf) &&
		     pages_equal_gen(buf, RACE_PAGES, 'A', 0);
		if (!ok)
			die("fiemap");
		free(buf);
		if (!ok)
			return -1;
	}
	return 0;
}

static void race_close(struct race_files *rf)
{
	if (rf->map)
		munmap(rf->map, RACE_PAGES * PG);
	close(rf->fd);
	if (rf->fdb >= 0)
		close(rf->fdb);
	if (rf->fdd >= 0)
		close(rf->fdd);
	close(rf->fdr);
	if (rf->dev >= 0)
		close(rf->dev);
	free(rf->phys);
	unlink(rf->a);
	if (rf->b)
		unlink(rf->b);
}

/* round g's generation of B, read with O_DIRECT into dst: bytes read, or -1 */
static ssize_t read_gen(const struct race_files *rf, char *dst, int g)
{
	long n = RACE_PAGES * PG;

	return pread(rf->fdb, dst, n, (g - 1) * n);
}

/* the round's DMA read returned ret: count a failure (read_efault) or a short read */
static void count_dma_read(ssize_t ret, struct race_counts *c)
{
	if (ret < 0)
		c->efault++;
	else if (ret < RACE_PAGES * PG)
		c->shortr++;
}

static void count_read_error(ssize_t r, struct race_counts *c)
{
	if (r < 0 && errno == EIO)
		c->read_eio++;
	else if (r < 0 && errno == EILSEQ)
		c->read_eilseq++;
}

/* the end of a round, after its syncs: whether A's disk (its blocks on race_dev with RF_DEV,
 * else an O_DIRECT read of A) and, after zapping the PTEs of `zap` (if not NULL) and
 * POSIX_FADV_DONTNEED, a buffered re-read of A hold `ref` (buf: scratch).  Mismatches count
 * only if `ok` (the round's syncs all returned 0); failed reads count in every round */
static void race_check(const struct race_files *rf, const char *ref, char *buf, char *zap,
		       int ok, struct race_counts *c)
{
	long n = RACE_PAGES * PG;
	ssize_t r;

	if (rf->phys)
		r = raw_read(rf->dev, rf->phys, RACE_PAGES, buf) ? -1 : n;
	else
		r = pread(rf->fdd, buf, n, 0);
	count_read_error(r, c);
	if (ok && (r != n || memcmp(buf, ref, n)))
		c->disk++;
	if (zap)
		madvise(zap, n, MADV_DONTNEED); /* zap the PTEs: the cache may drop clean pages */
	posix_fadvise(rf->fdr, 0, n, POSIX_FADV_DONTNEED);
	r = pread(rf->fdr, buf, n, 0);
	count_read_error(r, c);
	if (ok && (r != n || memcmp(buf, ref, n)))
		c->reread++;
	c->rounds++;
}

/* the end of a round that read (or stored) B.g into rf->map: the mapping must hold B.g
 * (copied to snap), then race_check against it */
static void race_check_map(const struct race_files *rf, char *snap, char *buf, int g, int ok,
			   struct race_counts *c)
{
	memcpy(snap, rf->map, RACE_PAGES * PG);
	if (ok && !pages_equal_gen(snap, RACE_PAGES, 'B', g % 10))
		c->mem++;
	race_check(rf, snap, buf, rf->map, ok, c);
}

static void kv_mismatches(const struct race_counts *c)
{
	kv("mem_mismatch=%ld", c->mem);
	kv("disk_mismatch=%ld", c->disk);
	kv("reread_mismatch=%ld", c->reread);
}

/* start the case's racer thread (race_stop cleared): pthread_create's result */
static int race_start(pthread_t *t, void *(*racer)(void *), void *arg)
{
	race_stop = 0;
	return pthread_create(t, NULL, racer, arg);
}

static void race_join(pthread_t t)
{
	race_stop = 1;
	pthread_join(t, NULL);
}

/* B with RACE_GENS generations of RACE_PAGES pages (round g reads generation g) */
static int make_generations(const char *path, char letter)
{
	if (make_file(path, 0, letter, 1))
		return -1;
	for (int g = 1; g <= RACE_GENS; g++)
		append_pattern(path, RACE_PAGES, letter, g % 10);
	return 0;
}

/* begin the case's line and make its files: A (RACE_PAGES of A.0) and, unless b is NULL, B
 * (make_generations); 0, or -1 once die() has printed "make_file" */
static int race_begin(const char *name, const char *a, const char *b)
{
	begin("race", name);
	if (make_file(a, RACE_PAGES, 'A', 0) || (b && make_generations(b, 'B'))) {
		die("make_file");
		return -1;
	}
	return 0;
}

static void race(const char *name)
{
	struct kmsg_watch km[] = { KMSG_WARNINGS, kmsg_fs(), KMSG_END };
	long n = RACE_PAGES * PG, read_err = 0;
	char *snap = aligned_alloc(PG, n), *disk = aligned_alloc(PG, n);
	struct race_counts c = { 0 };
	struct race_files rf;
	pthread_t t;

	if (strcmp(name, "dio_vs_msync") && strcmp(name, "dio_vs_pageout")) {
		begin("race", name);
		kv("error=unknown_case");
		end();
		return;
	}
	if (race_begin(name, at("race_A"), at("race_B")))
		return;
	if (race_open(&rf, at("race_A"), at("race_B"), RF_DIRECT | RF_MAP, km))
		return;
	rf.pageout = !strcmp(name, "dio_vs_pageout");
	if (race_start(&t, msync_racer, &rf))
		return die("pthread_create");
	for (long i = 0; i < iterations; i++) {
		int g = (int)(i % RACE_GENS) + 1;

		if (read_gen(&rf, rf.map, g) != n) {
			read_err++;
			continue;
		}
		/* sync at once: a re-dirtying deferred to bio_dirty_work is still pending */
		msync(rf.map, n, MS_SYNC);
		fsync(rf.fd);
		race_check_map(&rf, snap, disk, g, 1, &c);
	}
	race_join(t);
	kv("iterations=%ld", c.rounds);
	kv("read_errors=%ld", read_err);
	kv_mismatches(&c);
	kmsg_scan(km, 1);
	kv("racer_loops=%ld", rf.loops);
	end();
	race_close(&rf);
	free(snap);
	free(disk);
}

/* ---- race, continued: the other counterexamples the model finds in linux-6.1 and 6.12 ----
 *
 * Same COUNTS style.  Two sharper instruments than race/dio_vs_*:
 *  - the disk is read from the block device itself (race_dev: /dev/vda, or the XFS disk;
 *    O_DIRECT, at the file's blocks found once with FIEMAP), so that reading it does not
 *    first write the page cache back, as an O_DIRECT read of the file does (iomap_dio_rw ->
 *    filemap_write_and_wait_range): what fsync left on disk is seen even if a deferred
 *    re-dirtying ran meanwhile;
 *  - a "racer" thread does the other actor's syscall each round when the main thread sets
 *    r_go, after a delay that varies with the round, and acknowledges with r_ack.
 */

static volatile long r_go, r_ack, r_done;

static void r_set(volatile long *v, long x) { __atomic_store_n(v, x, __ATOMIC_RELEASE); }
static long r_get(volatile long *v) { return __atomic_load_n(v, __ATOMIC_ACQUIRE); }

static void r_wait(volatile long *v, long x)
{
	while (r_get(v) != x && !race_stop)
		sched_yield();
}

/* a delay that differs from round to round (0 .. ~50k loop iterations) */
static void r_delay(long round)
{
	long spins = (round * 7919L) % 8 * 6000;

	for (volatile long d = 0; d < spins; d++)
		;
}

static int all_zero(const char *p, long n)
{
	for (long i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* the calling thread SCHED_FIFO (on) or back to SCHED_OTHER: while it is FIFO, a kworker
 * woken on its CPU (bio_dirty_work, queued by the read's completion) waits until it blocks */
static void fifo(int on)
{
	struct sched_param sp = { .sched_priority = on ? 10 : 0 };

	sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp);
}

/* the round the main thread has started (r_go) and the racer has not yet seen, 0 once
 * race_stop is set: the racers of munmap_while_dma and dio_vs_truncate wait for it */
static long r_next(long seen)
{
	while (!race_stop) {
		if (r_get(&r_go) != seen)
			return r_get(&r_go);
		sched_yield();
	}
	return 0;
}

/* racer of munmap_while_dma: munmap the mapping while the read is in flight, then act as the
 * flusher (sync_file_range WRITE: WB_SYNC_NONE writeback) until the read has returned */
static void *munmap_racer(void *arg)
{
	struct race_files *rf = arg;
	long seen = 0;

	while ((seen = r_next(seen))) {
		r_delay(seen);
		munmap(rf->map, RACE_PAGES * PG);
		do {
			sync_file_range(rf->fd, 0, RACE_PAGES * PG, SYNC_FILE_RANGE_WRITE);
			rf->loops++;
		} while (r_get(&r_done) != seen && !race_stop);
		r_set(&r_ack, seen);
	}
	return NULL;
}

/* racer of dio_vs_truncate: one flusher pass, then ftruncate(0) while the read is in flight */
static void *truncate_racer(void *arg)
{
	struct race_files *rf = arg;
	long seen = 0;

	while ((seen = r_next(seen))) {
		r_delay(seen);
		sync_file_range(rf->fd, 0, RACE_PAGES * PG, SYNC_FILE_RANGE_WRITE);
		if (ftruncate(rf->fd, 0) == 0)
			rf->loops++;
		r_set(&r_ack, seen);
	}
	return NULL;
}

/* racer of dio_vs_fsync: the flusher, WB_SYNC_NONE writeback of the range, in a loop */
static void *flusher_racer(void *arg)
{
	struct race_files *rf = arg;

	while (!race_stop) {
		sync_file_range(rf->fd, 0, RACE_PAGES * PG, SYNC_FILE_RANGE_WRITE);
		rf->loops++;
	}
	return NULL;
}

/*
 * munmap_while_dma (scenario munmap-while-dma), dio_vs_fsync (deferred-redirty-vs-fsync):
 * each round maps A (16 pages, MAP_SHARED), reads generation g of B into it with O_DIRECT
 * while the racer unmaps the mapping and writes the file back (munmap_while_dma) or only
 * writes it back in a loop (dio_vs_fsync), then fsync(A) at once.  Counted:
 *   mem_mismatch    the page cache (a buffered read of A) lacks the bytes the read returned
 *   disk_mismatch   the device's blocks of A differ from the page cache after fsync returned 0
 *                   (a lost write: the DMA'd data is not on disk)
 *   reread_mismatch after POSIX_FADV_DONTNEED, a buffered read of A differs from the cache
 * and read_efault / read_short (munmap won before or during the pinning).  From the read to
 * the end of fsync the main thread is SCHED_FIFO: when the read completes it runs before the
 * kworker that would re-dirty the pages (bio_check_pages_dirty defers that to bio_dirty_work
 * for pages writeback cleaned meanwhile) — CPU pressure on that kworker, as any busy
 * real-time thread would put, widening the window between the read's return and the
 * re-dirtying without changing what the kernel does in it.
 */
static void race_dio_sync(const char *name)
{
	struct kmsg_watch km[] = { KMSG_WARNINGS, kmsg_fs(), KMSG_END };
	int unmap = !strcmp(name, "munmap_while_dma");
	long n = RACE_PAGES * PG;
	char *cache = aligned_alloc(PG, n), *disk = aligned_alloc(PG, n);
	struct race_counts c = { 0 };
	struct race_files rf;
	pthread_t t;

	if (race_begin(name, at("race_A"), at("race_B")))
		return;
	if (race_open(&rf, at("race_A"), at("race_B"), RF_DEV, km))
		return;
	r_go = r_ack = r_done = 0;
	if (!unmap) {
		rf.map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, rf.fd, 0);
		if (rf.map == MAP_FAILED)
			return die("mmap");
	}
	if (race_start(&t, unmap ? munmap_racer : flusher_racer, &rf))
		return die("pthread_create");
	for (long i = 0; i < iterations; i++) {
		int g = (int)(i % RACE_GENS) + 1;
		ssize_t ret;
		long got;

		if (unmap) { /* a new mapping each round, for the racer to unmap */
			rf.map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, rf.fd, 0);
			if (rf.map == MAP_FAILED)
				break;
			r_set(&r_go, i + 1);
		}
		fifo(1);
		ret = read_gen(&rf, rf.map, g);
		/* sync at once: a re-dirtying deferred to bio_dirty_work may still be pending */
		fsync(rf.fd);
		fifo(0);
		if (unmap) {
			r_set(&r_done, i + 1);
			r_wait(&r_ack, i + 1);
		}
		count_dma_read(ret, &c);
		got = ret > 0 ? ret / PG : 0;
		if (pread(rf.fdr, cache, n, 0) != n) {
			c.mem++;
			continue;
		}
		if (!pages_equal_gen(cache, got, 'B', g % 10))
			c.mem++;
		race_check(&rf, cache, disk, unmap ? NULL : rf.map, 1, &c);
	}
	race_join(t);
	if (unmap)
		rf.map = NULL; /* the racer unmapped it */
	kv("iterations=%ld", c.rounds);
	if (unmap) {
		kv("read_efault=%ld", c.efault);
		kv("read_short=%ld", c.shortr);
	} else {
		kv("read_errors=%ld", c.efault);
	}
	kv_mismatches(&c);
	kmsg_scan(km, 1);
	kv("racer_loops=%ld", rf.loops);
	end();
	race_close(&rf);
	free(cache);
	free(disk);
}

/*
 * dio_vs_truncate (scenario dio-unpin-vs-truncate): each round A holds 16 pages A.0 and is
 * mapped; generation g of B is read into the mapping with O_DIRECT while the racer writes A
 * back (one WB_SYNC_NONE pass) and truncates it to 0.  Then munmap, ftruncate back to 16
 * pages and fsync: every byte must now read as zero.  Counted (stale data of a truncated page
 * that came back, written by the DMA or by a re-dirtying after the truncate):
 *   stale_cache   a buffered read of the regrown A is not all zeros
 *   stale_disk    an O_DIRECT read of it is not all zeros
 *   stale_reread  after POSIX_FADV_DONTNEED, a buffered read is not all zeros
 * and read_efault (the truncate came first: the GUP fault beyond EOF fails).
 */
static void race_dio_truncate(const char *name)
{
	struct kmsg_watch km[] = { KMSG_WARNINGS, kmsg_fs(), KMSG_END };
	long n = RACE_PAGES * PG, s_cache = 0, s_disk = 0, s_reread = 0, done = 0;
	char *buf = aligned_alloc(PG, n), *abuf = aligned_alloc(PG, n), *map;
	struct race_counts c = { 0 };
	struct race_files rf;
	pthread_t t;

	if (race_begin(name, at("race_A"), at("race_B")))
		return;
	fill(abuf, RACE_PAGES, 'A', 0);
	if (race_open(&rf, at("race_A"), at("race_B"), RF_DIRECT, km))
		return;
	r_go = r_ack = r_done = 0;
	if (race_start(&t, truncate_racer, &rf))
		return die("pthread_create");
	for (long i = 0; i < iterations; i++) {
		int g = (int)(i % RACE_GENS) + 1;
		ssize_t ret;

		if (pwrite(rf.fd, abuf, n, 0) != n || fsync(rf.fd))
			break;
		map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, rf.fd, 0);
		if (map == MAP_FAILED)
			break;
		r_set(&r_go, i + 1);
		ret = read_gen(&rf, map, g);
		r_wait(&r_ack, i + 1);
		count_dma_read(ret, &c);
		munmap(map, n);
		if (ftruncate(rf.fd, n) || fsync(rf.fd))
			break;
		if (pread(rf.fdr, buf, n, 0) != n || !all_zero(buf, n))
			s_cache++;
		if (pread(rf.fdd, buf, n, 0) != n || !all_zero(buf, n))
			s_disk++;
		posix_fadvise(rf.fdr, 0, n, POSIX_FADV_DONTNEED);
		if (pread(rf.fdr, buf, n, 0) != n || !all_zero(buf, n))
			s_reread++;
		done++;
	}
	race_join(t);
	kv("iterations=%ld", done);
	kv("read_efault=%ld", c.efault);
	kv("read_short=%ld", c.shortr);
	kv("stale_cache=%ld", s_cache);
	kv("stale_disk=%ld", s_disk);
	kv("stale_reread=%ld", s_reread);
	kmsg_scan(km, 1);
	kv("racer_loops=%ld", rf.loops);
	end();
	race_close(&rf);
	free(buf);
	free(abuf);
}

/*
 * vm_writev_vs_dio (scenario vm-writev-vs-dio-invalidate).  Each round the main thread (the
 * "debugger") calls process_vm_writev on itself: V.g into the 16 pages of its MAP_SHARED
 * mapping of A.  The last page of the *source* is registered with userfaultfd (missing), so
 * the copy stops there with all 16 target pages pinned (pin_user_pages_remote) and 15 of them
 * copied; the fault handler then starts a second thread's write(O_DIRECT) of W.g to page 0 of
 * A — which writes page 0 back and invalidates it (iomap_dio_rw: filemap_write_and_wait_range,
 * invalidate_inode_pages2_range) — and resolves the fault after a delay that varies with the
 * round (0 .. until the O_DIRECT write has returned), so the copy's end and the unpinning
 * (unpin_user_pages_dirty_lock) fall before, during or after the write.  Then fsync(A).
 * The O_DIRECT write is the last write to page 0 to start, and both calls returned before
 * fsync: page 0 must hold W.g and pages 1-15 V.g (the model's no-lost-write).  Counted:
 *   mem_mismatch    the page cache (buffered read) differs from that
 *   disk_mismatch   the device's blocks differ from it after fsync returned 0
 *   reread_mismatch after POSIX_FADV_DONTNEED, a buffered read differs from it
 *   stale_pagecache dio_warn_stale_pagecache's "Page cache invalidation failure" lines
 * and uffd_stalls: rounds in which the copy did stop at the fault (the window was opened).
 */

static int uffd = -1;
static volatile long u_round, u_dio_started, u_dio_done;
static char *u_src, *u_vpage, *u_wbuf;
static int u_fdw;
static long u_dio_ret;

static void *dio_writer(void *arg)
{
	long seen = 0;

	(void)arg;
	while ((seen = r_next(seen))) {
		r_set(&u_dio_started, seen);
		u_dio_ret = pwrite(u_fdw, u_wbuf, PG, 0);
		r_set(&u_dio_done, seen);
	}
	return NULL;
}

static void *uffd_handler(void *arg)
{
	long *stalls = arg;
	struct uffd_msg msg;
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };

	while (!race_stop) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
		    msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		long round = r_get(&u_round);
		(*stalls)++;
		r_set(&r_go, round); /* start the O_DIRECT write of page 0 */
		r_wait(&u_dio_started, round);
		if (round % 4 == 3)
			r_wait(&u_dio_done, round); /* resolve only after write() returned */
		else
			r_delay(round); /* before or during the write */
		struct uffdio_copy cp = {
			.dst = (unsigned long)msg.arg.pagefault.address & ~(PG - 1),
			.src = (unsigned long)u_vpage, .len = PG, .mode = 0 };
		ioctl(uffd, UFFDIO_COPY, &cp);
	}
	return NULL;
}

static void race_vm_writev(const char *name)
{
	struct kmsg_watch km[] = { { "stale_pagecache=", "Page cache invalidation failure", 0 },
				   KMSG_WARNINGS, kmsg_fs(), KMSG_END };
	long n = RACE_PAGES * PG, stalls = 0, vm_err = 0, dio_err = 0;
	char *buf = aligned_alloc(PG, n), *want = aligned_alloc(PG, n);
	struct race_counts c = { 0 };
	struct race_files rf;
	pthread_t th, tw;

	if (race_begin(name, at("race_A"), NULL))
		return;
	/* fdd: the O_DIRECT writer's file */
	if (race_open(&rf, at("race_A"), NULL, RF_DIRECT_W | RF_DEV, km))
		return;
	u_fdw = rf.fdd;
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		return die("userfaultfd");
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(uffd, UFFDIO_API, &api))
		return die("UFFDIO_API");
	rf.map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, rf.fd, 0);
	u_vpage = aligned_alloc(PG, PG);
	u_wbuf = aligned_alloc(PG, PG);
	if (rf.map == MAP_FAILED)
		return die("mmap");
	r_go = 0;
	if (race_start(&th, uffd_handler, &stalls) ||
	    pthread_create(&tw, NULL, dio_writer, NULL))
		return die("pthread_create");
	for (long i = 0; i < iterations; i++) {
		int g = (int)(i % RACE_GENS) + 1;
		struct iovec local, remote = { .iov_base = rf.map, .iov_len = n };
		ssize_t ret;

		u_src = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (u_src == MAP_FAILED)
			break;
		fill(u_src, RACE_PAGES - 1, 'V', g % 10);
		struct uffdio_register reg = {
			.range = { .start = (unsigned long)(u_src + n - PG), .len = PG },
			.mode = UFFDIO_REGISTER_MODE_MISSING };
		if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
			munmap(u_src, n);
			return die("UFFDIO_REGISTER");
		}
		fill(u_vpage, 1, 'V', g % 10);
		fill(u_wbuf, 1, 'W', g % 10);
		r_set(&u_round, i + 1);
		local.iov_base = u_src;
		local.iov_len = n;
		ret = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
		if (ret != n)
			vm_err++;
		if (r_get(&r_go) == i + 1)
			r_wait(&u_dio_done, i + 1);
		else { /* no stall (should not happen): write page 0 now, in order */
			r_set(&r_go, i + 1);
			r_wait(&u_dio_done, i + 1);
		}
		if (u_dio_ret != PG)
			dio_err++;
		fsync(rf.fd);
		fill(want, RACE_PAGES, 'V', g % 10);
		fill(want, 1, 'W', g % 10);
		if (pread(rf.fdr, buf, n, 0) != n || memcmp(buf, want, n))
			c.mem++;
		race_check(&rf, want, buf, NULL, 1, &c);
		munmap(u_src, n); /* unregisters the range */
	}
	race_stop = 1;
	pthread_join(th, NULL);
	pthread_join(tw, NULL);
	kv("iterations=%ld", c.rounds);
	kv("vm_writev_errors=%ld", vm_err);
	kv("dio_write_errors=%ld", dio_err);
	kv("uffd_stalls=%ld", stalls);
	kv_mismatches(&c);
	kmsg_scan(km, 1); /* stale_pagecache, kmsg_warnings, ext4_no_buffers */
	end();
	close(uffd);
	uffd = -1;
	race_close(&rf);
	free(buf);
	free(want);
	free(u_vpage);
	free(u_wbuf);
}

/*
 * btrfs_dio_vs_msync (scenario dio-read-into-mmap-btrfs) and btrfs_enospc (enospc-after-dma),
 * on the second disk's btrfs at /btr (the guest has it only when these probes are asked for).
 * Each round reads generation g of B (on ext4, O_DIRECT) into a MAP_SHARED mapping of btrfs
 * file A while a racer thread loops msync(MS_SYNC) on it (the flusher); then, as the
 * scenario's application, msync(MS_SYNC) twice and fsync; then a reader reads A with O_DIRECT
 * (btrfs verifies the data checksums).  btrfs_enospc first fills the filesystem (a filler file
 * written until ENOSPC; fill_errno: how its last write failed) and gives back 128 KiB each
 * round, which a third thread, the scenario's "other file" (fill_fs), takes again by writing
 * until ENOSPC.  race/xfs_enospc is the same on /xfs (xfs_messages: XFS's own kernel log
 * lines).  Counted:
 *   read_efault      the O_DIRECT read into the mapping failed with EFAULT (btrfs_page_mkwrite,
 *                    called by the GUP fault, could not reserve: ENOSPC before the DMA, not
 *                    after it); read_errors: with another error (read_errno: the last one)
 *   sync_enospc      msync/fsync returned ENOSPC after the read had succeeded
 *   sync_errors      msync/fsync returned another error (sync_errno: the last one)
 *   mem_mismatch     (rounds whose syncs all returned 0) the mapping does not hold B.g
 *   disk_mismatch    (same rounds) the O_DIRECT reader got other data than the mapping, or
 *                    an error
 *   reread_mismatch  (same rounds) after POSIX_FADV_DONTNEED a buffered read differs or fails
 *   read_eio         either reader got EIO (btrfs' checksum verification failed: the data
 *                    changed after writeback checksummed it)
 *   csum_failed      kernel log lines with "csum failed"
 *   unnotified_dirty kernel log lines "marked dirty without notifying the fs" (btrfs refusing
 *                    at writeback a folio dirtied without ->page_mkwrite, -EUCLEAN)
 *   kmsg_warnings    kernel log "WARNING:" lines
 */

static volatile long tk_on;

/* the "other file": while the main thread is in its read and syncs (tk_on), write 4 KiB
 * blocks to the filler until ENOSPC, again and again.  With one vCPU it runs only when the
 * main thread sleeps, i.e. after the read's fault reserved its space (btrfs_page_mkwrite) */
static void *space_taker(void *arg)
{
	int fd = *(int *)arg;
	char *blk = aligned_alloc(PG, PG);

	fill(blk, 1, 'F', 0);
	while (!race_stop) {
		if (!r_get(&tk_on)) {
			sched_yield();
			continue;
		}
		if (write(fd, blk, PG) != PG) {
			fsync(fd);
			sched_yield();
		}
	}
	free(blk);
	return NULL;
}

static void race_btrfs(const char *name)
{
	/* on XFS (race/xfs_enospc, use_xfs): the same rounds with A and the filler on /xfs */
	int xfs = on_xfs();
	const char *dir = xfs ? "/xfs" : "/btr";
	const char *A = xfs ? "/xfs/race_A" : "/btr/race_A", *B = "/mnt/race_B";
	const char *FILL = xfs ? "/xfs/filler" : "/btr/filler";
	struct kmsg_watch km[] = { { "csum_failed=", "csum failed", 0 },
				   { "unnotified_dirty=", "marked dirty without notifying the fs", 0 },
				   KMSG_WARNINGS, xfs ? (struct kmsg_watch)KMSG_XFS :
				   (struct kmsg_watch)KMSG_END, KMSG_END };
	int enospc = !!strstr(name, "enospc");
	long n = RACE_PAGES * PG, s_enospc = 0, s_err = 0, rerr = 0;
	int last_rerr = 0, last_serr = 0, ffd = -1, fill_err = 0;
	char *snap = aligned_alloc(PG, n), *buf = aligned_alloc(PG, n), *chunk;
	struct race_counts c = { 0 };
	struct race_files rf;
	pthread_t t, taker;
	struct stat st;

	begin("race", name);
	if (stat(dir, &st) || make_file(A, RACE_PAGES, 'A', 0)) {
		kv("error=no_%s_at_%s", xfs ? "xfs" : "btrfs", dir);
		end();
		return;
	}
	if (make_generations(B, 'B'))
		return die("make_file");
	if (enospc) { /* fill the filesystem: 1 MiB, then 4 KiB writes until ENOSPC */
		ffd = open(FILL, O_RDWR | O_CREAT | O_TRUNC, 0644);
		chunk = aligned_alloc(PG, 1 << 20);
		fill(chunk, 256, 'F', 0);
		for (int pass = 0; pass < 3; pass++) {
			while (write(ffd, chunk, 1 << 20) == 1 << 20)
				;
			while (write(ffd, chunk, PG) == PG)
				;
			fill_err = errno; /* ENOSPC: the filesystem is full */
			fsync(ffd);
			syncfs(ffd);
		}
		free(chunk);
	}
	if (race_open(&rf, A, B, RF_DIRECT | RF_MAP, km))
		return;
	if (race_start(&t, msync_racer, &rf) ||
	    (enospc && pthread_create(&taker, NULL, space_taker, &ffd)))
		return die("pthread_create");
	for (long i = 0; i < iterations; i++) {
		int g = (int)(i % RACE_GENS) + 1, bad = 0;

		if (enospc) { /* give 128 KiB back for the fault's reservation to find */
			if (fstat(ffd, &st) == 0 && st.st_size > 32 * PG)
				if (ftruncate(ffd, st.st_size - 32 * PG) == 0)
					syncfs(ffd);
		}
		r_set(&tk_on, 1);
		if (read_gen(&rf, rf.map, g) != n) {
			r_set(&tk_on, 0);
			if (errno == EFAULT)
				c.efault++;
			else
				rerr++;
			last_rerr = errno;
			continue;
		}
		for (int k = 0; k < 3; k++) {
			int r = k < 2 ? msync(rf.map, n, MS_SYNC) : fsync(rf.fd);

			if (r && errno == ENOSPC)
				bad |= 1;
			else if (r) {
				bad |= 2;
				last_serr = errno;
			}
		}
		r_set(&tk_on, 0);
		s_enospc += bad & 1;
		s_err += (bad & 2) >> 1;
		/* a lost write is a mismatch after every sync returned 0; a checksum failure
		 * (EIO from btrfs' verification on read) counts in every round */
		race_check_map(&rf, snap, buf, g, !bad, &c);
	}
	race_join(t);
	if (enospc)
		pthread_join(taker, NULL);
	kv("iterations=%ld", c.rounds);
	if (enospc)
		kv("fill_errno=%s", errname(fill_err));
	kv("read_efault=%ld", c.efault);
	kv("read_errors=%ld", rerr);
	if (rerr)
		kv("read_errno=%s", errname(last_rerr));
	kv("sync_enospc=%ld", s_enospc);
	kv("sync_errors=%ld", s_err);
	if (s_err)
		kv("sync_errno=%s", errname(last_serr));
	kv_mismatches(&c);
	kv("read_eio=%ld", c.read_eio);
	kmsg_scan(km, 1); /* csum_failed, unnotified_dirty, kmsg_warnings (, xfs_messages) */
	kv("racer_loops=%ld", rf.loops);
	end();
	race_close(&rf);
	if (ffd >= 0)
		close(ffd);
	free(snap);
	free(buf);
	unlink(FILL);
}

/*
 * pi_dio_vs_msync (scenario stable-writes-raid, F3): the same race on a device that requires
 * stable pages.  The guest's third device, when this probe is asked for, is an NVMe namespace
 * of QEMU's emulated controller formatted with 8 bytes of metadata per 512-byte block and
 * protection information type 1 (T10 DIF: a CRC guard tag per block).  Linux registers a
 * blk_integrity profile for it (stable writes on, write_generate on): the block layer
 * computes the guard tags when the write bio is submitted (bio_integrity_prep), and QEMU's
 * controller checks them against the data it fetches (PRCHK guard, PRACT off) and fails the
 * command with "Guard Check Error" (sct 0x2 / sc 0x82) when they differ.  /init copies the
 * fresh ext4 of /dev/vda onto it (before mounting /mnt) and mounts it at /pi.
 *
 * Each round reads generation g of B (on /mnt, O_DIRECT, the virtio disk whose reads
 * --slow-reads throttles) into a MAP_SHARED mapping of /pi/race_A while a racer thread loops
 * msync(MS_SYNC) on it (the flusher); then msync(MS_SYNC) + fsync at once.  A DMA that lands
 * in a page after its writeback bio's guard tags were computed and before the device fetched
 * the data fails that write.  Counted:
 *   sync_errors        rounds in which the main thread's msync/fsync failed (sync_errno: the
 *                      last errno; BLK_STS_PROTECTION is EILSEQ to user space)
 *   racer_sync_errors  the racer's msyncs that failed (racer_errno): the error of one write
 *                      is reported once per open file, to whichever syncer asks first
 *   read_pi_errors     an O_DIRECT or buffered read of A failed (the block layer verifies the
 *                      guard tags on read: a block written with bad tags fails there)
 *   pi_errors          kernel log lines "protection error" (blk_print_req_error)
 *   nvme_pi_status     kernel log lines "(sct 0x2 / sc 0x8" (nvme_log_error: an end-to-end
 *                      protection status, 0x82 guard, 0x83 application tag, 0x84 reference)
 *   mem/disk/reread_mismatch  as race/dio_vs_msync, only in rounds in which no sync (the
 *                      racer's included) returned an error: a lost write nobody was told of
 *   pi_format, queue_stable_writes  what sysfs says of nvme0n1: its integrity format
 *                      (T10-DIF-TYPE1-CRC) and the queue's BLK_FEAT_STABLE_WRITES (1 on 6.1; 0 on
 *                      6.12, whose bdev_stable_writes() requires stable pages for any
 *                      integrity profile without that flag)
 *
 * pi_store_vs_msync is its control (scenario control-cpu-mmap-write on a stable-writes
 * device): the same rounds, but the page contents come from CPU stores through the mapping
 * (eight memcpy of the 16 pages per round, the last one of generation g) instead of a DMA.
 * A store to a page that writeback has cleaned faults (page_mkclean write-protected it) and
 * ext4_page_mkwrite waits for stable pages (wait_for_stable_page on 6.1, folio_wait_stable on
 * 6.12) until the write has completed, so on a device that requires stable pages no store can
 * change a page under writeback: no protection error.  Only a pin taken while the page was
 * still writable (the O_DIRECT read's) lets a DMA in during the write.
 */

/* the first word of a sysfs file, or "none" */
static const char *sysfs_word(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "none");
	if (f)
		fclose(f);
	buf[strcspn(buf, " \n")] = 0;
	return buf;
}

static void race_pi(const char *name)
{
	const char *A = "/pi/race_A", *B = "/mnt/race_B";
	struct kmsg_watch pk[] = { { "pi_errors=", "protection error", 0 },
				   { "nvme_pi_status=", "(sct 0x2 / sc 0x8", 0 }, KMSG_END };
	struct kmsg_watch wk[] = { KMSG_WARNINGS, KMSG_END };
	long n = RACE_PAGES * PG, s_err = 0, rerr = 0;
	int last_rerr = 0, last_serr = 0, store = !strcmp(name, "pi_store_vs_msync");
	char *snap = aligned_alloc(PG, n), *buf = aligned_alloc(PG, n), fmt[64], stable[16];
	char *gens = NULL;
	struct race_counts c = { 0 };
	struct race_files rf;
	pthread_t t;
	struct stat root, st;

	begin("race", name);
	if (stat("/", &root) || stat("/pi", &st) || st.st_dev == root.st_dev ||
	    make_file(A, RACE_PAGES, 'A', 0)) {
		kv("error=no_pi_namespace_at_/pi");
		end();
		return;
	}
	if (make_generations(B, 'B'))
		return die("make_file");
	kmsg_scan(wk, 0);
	if (race_open(&rf, A, B, RF_DIRECT | RF_MAP, pk))
		return;
	if (store) { /* the control: B's generations in memory, stored by the CPU */
		gens = aligned_alloc(PG, RACE_GENS * n);
		if (pread(rf.fdb, gens, RACE_GENS * n, 0) != RACE_GENS * n)
			return die("pread");
	}
	if (race_start(&t, msync_racer, &rf))
		return die("pthread_create");
	for (long i = 0; i < iterations; i++) {
		int g = (int)(i % RACE_GENS) + 1, bad = 0;
		long racer_before = __atomic_load_n(&rf.racer_errs, __ATOMIC_ACQUIRE);

		if (store) {
			for (int k = 7; k >= 0; k--)
				memcpy(rf.map, gens + ((g - 1 + k) % RACE_GENS) * n, n);
		} else if (read_gen(&rf, rf.map, g) != n) {
			rerr++;
			last_rerr = errno;
			continue;
		}
		/* sync at once, as the scenario's application does */
		if (msync(rf.map, n, MS_SYNC)) {
			bad = 1;
			last_serr = errno;
		}
		if (fsync(rf.fd)) {
			bad = 1;
			last_serr = errno;
		}
		s_err += bad;
		if (__atomic_load_n(&rf.racer_errs, __ATOMIC_ACQUIRE) != racer_before)
			bad = 1;
		race_check_map(&rf, snap, buf, g, !bad, &c);
	}
	race_join(t);
	kv("iterations=%ld", c.rounds);
	kv("pi_format=%s", sysfs_word("/sys/block/nvme0n1/integrity/format", fmt, sizeof(fmt)));
	kv("queue_stable_writes=%s", sysfs_word("/sys/block/nvme0n1/queue/stable_writes", stable,
					  sizeof(stable)));
	kv("read_errors=%ld", rerr);
	if (rerr)
		kv("read_errno=%s", errname(last_rerr));
	kv("sync_errors=%ld", s_err);
	if (s_err)
		kv("sync_errno=%s", errname(last_serr));
	kv("racer_sync_errors=%ld", rf.racer_errs);
	if (rf.racer_errs)
		kv("racer_errno=%s", errname((int)rf.racer_errno));
	kv("read_pi_errors=%ld", c.read_eio + c.read_eilseq);
	kmsg_scan(pk, 1); /* pi_errors, nvme_pi_status */
	kv_mismatches(&c);
	kmsg_scan(wk, 1); /* kmsg_warnings */
	kv("racer_loops=%ld", rf.loops);
	end();
	race_close(&rf);
	free(snap);
	free(buf);
	free(gens);
}

static void race_more(const char *name)
{
	if (!strncmp(name, "xfs_", 4)) { /* the same case with its files on /xfs */
		case_prefix = "xfs_";
		if (use_xfs()) {
			begin("race", name + 4);
			kv("error=no_xfs_at_/xfs");
			end();
		} else if (!strcmp(name + 4, "enospc")) {
			race_btrfs(name + 4);
		} else {
			race_more(name + 4);
		}
		use_ext4();
		return;
	}
	if (!strcmp(name, "munmap_while_dma") || !strcmp(name, "dio_vs_fsync"))
		race_dio_sync(name);
	else if (!strcmp(name, "dio_vs_truncate"))
		race_dio_truncate(name);
	else if (!strcmp(name, "vm_writev_vs_dio"))
		race_vm_writev(name);
	else if (!strncmp(name, "btrfs_", 6))
		race_btrfs(name);
	else if (!strncmp(name, "pi_", 3))
		race_pi(name);
	else
		race(name);
}

/* ---- the groups and their cases ---- */

static const char *const DIO[] = { "not_faulted", "prefaulted_clean", "prefaulted_dirty",
	"sparse_hole", "private_mapping", "beyond_eof", "same_file_read",
	"same_file_write_from_mapping", NULL };
static const char *const REG[] = { "ext4_shared_rw", "ext4_shared_rw_prefaulted",
	"ext4_shared_ro", "ext4_private_rw", "ext4_private_rw_prefaulted_read", "ext4_private_ro",
	"anon_rw", "anon_ro", "memfd_shared_rw", "memfd_private_rw", "tmpfs_shared_rw",
	"hugetlb_anon_rw", "anon_plus_ext4_shared", "ext4_shared_plus_anon", NULL };
static const char *const TRUNC[] = { "iouring_memfd_shared", "iouring_ext4_private",
	"iouring_ext4_shared", "vmsplice_ext4_shared", NULL };
static const char *const FORK[] = { "iouring_pin_fork_child_writes",
	"iouring_pin_fork_parent_writes", "vmsplice_cve_2020_29374",
	"vmsplice_then_write_same_process", NULL };
static const char *const RACE[] = { "dio_vs_msync", "dio_vs_pageout", "munmap_while_dma",
	"dio_vs_truncate", "vm_writev_vs_dio", "dio_vs_fsync", "btrfs_dio_vs_msync",
	"btrfs_enospc", "pi_dio_vs_msync", "pi_store_vs_msync", "xfs_dio_vs_msync",
	"xfs_dio_vs_pageout", "xfs_munmap_while_dma", "xfs_dio_vs_truncate", "xfs_vm_writev_vs_dio",
	"xfs_dio_vs_fsync", "xfs_enospc", NULL };

/* the cases that run on XFS too (argument xfs[/group[/case]]): those that use an ext4 file */
static const char *const XFS_REG[] = { "ext4_shared_rw", "ext4_shared_rw_prefaulted",
	"ext4_shared_ro", "ext4_private_rw", "ext4_private_rw_prefaulted_read", "ext4_private_ro",
	"anon_plus_ext4_shared", "ext4_shared_plus_anon", NULL };
static const char *const XFS_TRUNC[] = { "iouring_ext4_private", "iouring_ext4_shared",
	"vmsplice_ext4_shared", NULL };

static const struct group {
	const char *name;
	const char *const *cases;
	void (*run)(const char *);
	int named_only; /* racy: not part of the default run */
	const char *const *xfs_cases; /* the cases run on /xfs as xfs/<group>/<case> */
} GROUPS[] = {
	{ "dio_into_mmap", DIO, dio_into_mmap, 0, DIO },
	{ "iouring_register_filebacked", REG, iouring_register, 0, XFS_REG },
	{ "truncate_while_pinned", TRUNC, truncate_while_pinned, 0, XFS_TRUNC },
	{ "fork_cow_pinned", FORK, fork_cow_pinned },
	{ "race", RACE, race_more, 1 },
};

/* one case of group g, on /xfs if xfs (an error line if /xfs is not an XFS mount) */
static void run_case(size_t g, const char *c, int xfs)
{
	if (xfs) {
		group_prefix = "xfs/";
		if (use_xfs()) {
			begin(GROUPS[g].name, c);
			kv("error=no_xfs_at_/xfs");
			end();
			use_ext4();
			return;
		}
	}
	GROUPS[g].run(c);
	use_ext4();
}

/* an argument is a group ("dio_into_mmap") or one case ("dio_into_mmap/beyond_eof"), either
 * prefixed with "xfs/" to run on /xfs, or "xfs" alone: every case that runs on XFS */
static int run_arg(const char *arg)
{
	int found = 0, xfs = !strncmp(arg, "xfs", 3) && (!arg[3] || arg[3] == '/');

	if (!xfs && !*arg)
		return 0;
	if (xfs)
		arg += arg[3] ? 4 : 3;
	for (size_t g = 0; g < sizeof(GROUPS) / sizeof(GROUPS[0]); g++) {
		size_t n = strlen(GROUPS[g].name);
		const char *const *cases = xfs ? GROUPS[g].xfs_cases : GROUPS[g].cases;

		if (!cases || (*arg && (strncmp(arg, GROUPS[g].name, n) ||
					(arg[n] && arg[n] != '/'))))
			continue;
		for (const char *const *c = cases; *c; c++)
			if (!*arg || !arg[n] || !strcmp(arg + n + 1, *c)) {
				run_case(g, *c, xfs);
				found = 1;
			}
	}
	return found;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int named = 0;

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "iterations=", 11))
			iterations = atol(argv[i] + 11);
		else if (strcmp(argv[i], "all"))
			named = 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "all"))
			named = 0; /* "all": every deterministic group, then the named racy ones */
	if (!named)
		for (size_t g = 0; g < sizeof(GROUPS) / sizeof(GROUPS[0]); g++)
			if (!GROUPS[g].named_only)
				run_arg(GROUPS[g].name);
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "iterations=", 11) && strcmp(argv[i], "all") &&
		    !run_arg(argv[i]))
			printf("PROBE-ERROR unknown probe %s\n", argv[i]);
	return 0;
}
