/* SPDX-License-Identifier: ISC */
/*
 * The capsule that carries a hand-over (lib/handover.c): one end of an
 * AF_UNIX datagram socketpair whose queue holds the image, in a memfd
 * sealed against any change, and every socket that goes with it, as
 * SCM_RIGHTS, HANDOVER_BATCH to a message.  One descriptor whatever the
 * number of clients, and the kernel keeps every socket in it alive until
 * it is read out or the capsule closed (closing it drops them: their
 * clients see the end).
 *
 * Messages (native byte order: same host, same boot):
 *   first  "CWCAPSUL", version, listeners, clients, 0, image length;
 *          the memfd
 *   then   "CWFDBTCH", index of its first socket, count; the sockets
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handover_capsule.h"
#include "handover_image.h"

#define CAPSULE_VERSION		1
#define CAPSULE_SNDBUF		(4 << 20)	/* the kernel caps it */
#define HANDOVER_SEALS		(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

struct capsule_head {
	char		 magic[8];	/* "CWCAPSUL" */
	uint32_t	 version;
	uint32_t	 nlisteners;
	uint32_t	 nclients;
	uint32_t	 zero;
	uint64_t	 imagelen;
};

struct capsule_batch {
	char		 magic[8];	/* "CWFDBTCH" */
	uint32_t	 first;
	uint32_t	 count;
};

/* Room for a message's descriptors, aligned for a cmsghdr. */
struct capsule_ctl {
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int) * HANDOVER_BATCH)];
	};
};

static void	capsule_msg(struct msghdr *, struct iovec *, void *, size_t,
		    struct capsule_ctl *);
static ssize_t	capsule_recv(int, void *, size_t, int *, size_t *, int *);
static int	handover_memfd(const void *, size_t);

/* A message of one part, data (len bytes), and room for descriptors. */
static void
capsule_msg(struct msghdr *msg, struct iovec *iov, void *data, size_t len,
    struct capsule_ctl *ctl)
{
	memset(msg, 0, sizeof(*msg));
	memset(ctl, 0, sizeof(*ctl));
	iov->iov_base = data;
	iov->iov_len = len;
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = ctl->buf;
	msg->msg_controllen = sizeof(ctl->buf);
}

/*
 * One message of a capsule: data, and n descriptors (at most
 * HANDOVER_BATCH) beside it; -1 with errno.  Public for the tests, which
 * make damaged capsules with it.
 */
int
handover_send(int sock, const void *data, size_t len, const int *fds,
    size_t n)
{
	struct capsule_ctl ctl;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;

	if (n > HANDOVER_BATCH) {
		errno = EINVAL;
		return -1;
	}
	capsule_msg(&msg, &iov, (void *)(uintptr_t)data, len, &ctl);
	msg.msg_control = NULL;
	msg.msg_controllen = 0;
	if (n > 0) {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	if (sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	return 0;
}

/*
 * One message out of the capsule: its data (at most len bytes) and up to
 * HANDOVER_BATCH descriptors into fds (*n of them), each close-on-exec;
 * *cut when the kernel cut either short.  -1 when the queue is empty.
 */
static ssize_t
capsule_recv(int sock, void *data, size_t len, int *fds, size_t *n,
    int *cut)
{
	struct capsule_ctl ctl;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	ssize_t got;
	size_t k;

	*n = 0;
	*cut = 0;
	capsule_msg(&msg, &iov, data, len, &ctl);
	do
		got = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (got == -1 && errno == EINTR);
	if (got == -1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k > HANDOVER_BATCH - *n)
			k = HANDOVER_BATCH - *n;
		memcpy(fds + *n, CMSG_DATA(cm), k * sizeof(int));
		*n += k;
	}
	*cut = (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0;
	return got;
}

/* The image in a memfd sealed against any change, or -1. */
static int
handover_memfd(const void *img, size_t len)
{
	const char *p = img;
	ssize_t n;
	int fd, saved;

	if ((fd = memfd_create("clockwork-handover", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return -1;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, HANDOVER_SEALS | F_SEAL_SEAL) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * A capsule holding img (len bytes) and fds (nlisteners listening
 * sockets, then clients).  The caller's descriptors stay its own.
 * Returns the capsule, or -1 with errno.
 */
int
handover_pack(const void *img, size_t len, const int *fds, size_t nfds,
    size_t nlisteners)
{
	struct capsule_head head;
	struct capsule_batch batch;
	int sp[2] = { -1, -1 }, mfd, bufsz = CAPSULE_SNDBUF, saved;
	size_t first, count;

	if (nlisteners > nfds || nlisteners > HANDOVER_LISTENERS_MAX ||
	    nfds - nlisteners > HANDOVER_CLIENTS_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((mfd = handover_memfd(img, len)) == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) == -1)
		goto fail;
	(void)setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	memset(&head, 0, sizeof(head));
	memcpy(head.magic, "CWCAPSUL", 8);
	head.version = CAPSULE_VERSION;
	head.nlisteners = (uint32_t)nlisteners;
	head.nclients = (uint32_t)(nfds - nlisteners);
	head.imagelen = len;
	if (handover_send(sp[1], &head, sizeof(head), &mfd, 1) == -1)
		goto fail;
	memcpy(batch.magic, "CWFDBTCH", 8);
	for (first = 0; first < nfds; first += count) {
		count = nfds - first < HANDOVER_BATCH ? nfds - first :
		    HANDOVER_BATCH;
		batch.first = (uint32_t)first;
		batch.count = (uint32_t)count;
		if (handover_send(sp[1], &batch, sizeof(batch), fds + first,
		    count) == -1)
			goto fail;
	}
	close(sp[1]);
	close(mfd);
	return sp[0];
fail:
	saved = errno;
	close(mfd);
	if (sp[0] != -1) {
		close(sp[0]);
		close(sp[1]);
	}
	errno = saved;
	return -1;
}

/*
 * Empties the capsule into in: the image mapped (or, when it cannot be
 * trusted, img NULL and why set) and every socket at its place (-1 where
 * one was lost).  -1 when the capsule holds no hand-over at all; its
 * descriptors are closed then.  The capsule itself stays the caller's.
 */
int
handover_unpack(int capsule, struct handover_in *in)
{
	struct capsule_head head;
	struct capsule_batch batch;
	int got[HANDOVER_BATCH], mfd = -1, cut, seals;
	size_t n, k, total;
	struct stat st;
	ssize_t len;
	void *map;

	memset(in, 0, sizeof(*in));
	len = capsule_recv(capsule, &head, sizeof(head), got, &n, &cut);
	if (len == -1) {
		snprintf(in->why, sizeof(in->why), "empty capsule");
		return -1;
	}
	if (len != (ssize_t)sizeof(head) || cut || n != 1 ||
	    memcmp(head.magic, "CWCAPSUL", 8) != 0 ||
	    head.version != CAPSULE_VERSION ||
	    head.nlisteners > HANDOVER_LISTENERS_MAX ||
	    head.nclients > HANDOVER_CLIENTS_MAX) {
		snprintf(in->why, sizeof(in->why), "not a capsule of a "
		    "version we know");
		for (k = 0; k < n; k++)
			close(got[k]);
		/* Whatever else is in it goes: its clients see the end. */
		while (capsule_recv(capsule, &batch, sizeof(batch), got, &n,
		    &cut) != -1)
			for (k = 0; k < n; k++)
				close(got[k]);
		return -1;
	}
	mfd = got[0];
	in->nlisteners = head.nlisteners;
	in->nclients = head.nclients;
	total = in->nlisteners + in->nclients;
	if ((in->fds = malloc((total > 0 ? total : 1) * sizeof(int))) ==
	    NULL) {
		close(mfd);
		snprintf(in->why, sizeof(in->why), "out of memory");
		in->nlisteners = in->nclients = 0;
		while (capsule_recv(capsule, &batch, sizeof(batch), got, &n,
		    &cut) != -1)
			for (k = 0; k < n; k++)
				close(got[k]);
		return 0;
	}
	for (k = 0; k < total; k++)
		in->fds[k] = -1;
	while ((len = capsule_recv(capsule, &batch, sizeof(batch), got, &n,
	    &cut)) != -1) {
		if (cut)
			in->truncated = 1;
		if (len != (ssize_t)sizeof(batch) ||
		    memcmp(batch.magic, "CWFDBTCH", 8) != 0 ||
		    batch.first > total || n > batch.count ||
		    n > total - batch.first) {
			in->truncated = 1;
			for (k = 0; k < n; k++)
				close(got[k]);
			continue;
		}
		for (k = 0; k < n; k++) {
			if (in->fds[batch.first + k] != -1) {
				in->truncated = 1;
				close(got[k]);
			} else
				in->fds[batch.first + k] = got[k];
		}
	}
	/* The image: a sealed memfd of exactly the length announced. */
	if (fstat(mfd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != head.imagelen ||
	    head.imagelen > HANDOVER_IMAGE_MAX || head.imagelen == 0)
		snprintf(in->why, sizeof(in->why), "image of the wrong kind "
		    "or size");
	else if ((seals = fcntl(mfd, F_GET_SEALS)) == -1 ||
	    (seals & HANDOVER_SEALS) != HANDOVER_SEALS)
		snprintf(in->why, sizeof(in->why), "image not sealed");
	else if ((map = mmap(NULL, (size_t)head.imagelen, PROT_READ,
	    MAP_PRIVATE, mfd, 0)) == MAP_FAILED)
		snprintf(in->why, sizeof(in->why), "cannot map the image: %s",
		    strerror(errno));
	else {
		in->img = map;
		in->len = (size_t)head.imagelen;
	}
	close(mfd);
	return 0;
}

/* Closes every socket still in in and lets go of the image. */
void
handover_in_close(struct handover_in *in)
{
	size_t k;

	if (in->fds != NULL)
		for (k = 0; k < in->nlisteners + in->nclients; k++)
			if (in->fds[k] != -1)
				close(in->fds[k]);
	free(in->fds);
	if (in->img != NULL)
		munmap(in->img, in->len);
	memset(in, 0, sizeof(*in));
}
