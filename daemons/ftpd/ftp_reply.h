/* SPDX-License-Identifier: ISC */
/* FTP reply codes by name (RFC 959, 2228, 2428, 3659). */
#ifndef CLOCKWORK_FTP_REPLY_H
#define CLOCKWORK_FTP_REPLY_H

#define FTP_DATA_OPEN_NOW	125	/* data connection open, starting */
#define FTP_OPENING_DATA	150	/* about to open the data connection */
#define FTP_OK			200
#define FTP_NOT_NEEDED		202	/* superfluous (ALLO, ACCT) */
#define FTP_STATUS		211
#define FTP_DIR_STATUS		212
#define FTP_FILE_STATUS		213
#define FTP_HELP		214
#define FTP_SYSTEM		215
#define FTP_GREETING		220
#define FTP_GOODBYE		221
#define FTP_AUTH_OK		234	/* AUTH TLS: handshake next */
#define FTP_ABOR_NO_XFER	225	/* ABOR with no transfer running */
#define FTP_XFER_DONE		226
#define FTP_PASV		227
#define FTP_EPSV		229
#define FTP_LOGGED_IN		230
#define FTP_FILE_OK		250
#define FTP_CREATED		257	/* PWD, MKD */
#define FTP_NEED_PASS		331
#define FTP_NEED_INFO		350	/* REST, RNFR */
#define FTP_UNAVAILABLE		421	/* shutting down, too many clients */
#define FTP_TLS_UNAVAILABLE	431	/* AUTH: TLS cannot start now */
#define FTP_NO_DATA_CONN	425
#define FTP_XFER_ABORTED	426
#define FTP_FILE_BUSY		450	/* not now: a pool or a budget is full */
#define FTP_LOCAL_ERROR		451
#define FTP_NO_SPACE		452
#define FTP_BAD_COMMAND		500
#define FTP_BAD_ARGS		501
#define FTP_NOT_IMPL		502
#define FTP_BAD_SEQUENCE	503
#define FTP_BAD_PARAM		504	/* not implemented for that parameter */
#define FTP_TLS_DATA_REQUIRED	521	/* --require-tls: PROT P first */
#define FTP_BAD_PROTO		522	/* EPRT: network protocol not supported */
#define FTP_TLS_DATA_FAILED	522	/* data connection's TLS refused */
#define FTP_NOT_LOGGED_IN	530
#define FTP_TLS_POLICY		534	/* refused by policy (CCC, PROT C) */
#define FTP_PROT_UNSUPPORTED	536
#define FTP_FILE_FAIL		550
#define FTP_QUOTA		552
#define FTP_BAD_NAME		553

#endif
