// riopool native core: the Winsock registered I/O declarations riopool uses.
//
// The Windows SDK declares these in mswsock.h / mswsockdef.h; mingw-w64's headers do not, so
// the cross-build (pnpm check:windows) needs them here. Written from the public RIO
// documentation (RIO_EXTENSION_FUNCTION_TABLE, RIORegisterBuffer, RIO_BUF, RIO_CQ, RIO_RQ,
// RIORESULT, RIOReceive, RIOSend, RIODequeueCompletion). The entry points the backend calls
// are typed; the others keep their place in the table as untyped pointers, so the layout
// matches what WSAIoctl fills in.
#pragma once
#ifdef _WIN32

#include <winsock2.h>
#include <mswsock.h>

#ifndef RIO_INVALID_BUFFERID
typedef struct RIO_BUFFERID_t* RIO_BUFFERID;

#define RIO_INVALID_BUFFERID ((RIO_BUFFERID)(ULONG_PTR)0xFFFFFFFF)

typedef struct _RIO_BUF {
  RIO_BUFFERID BufferId;
  ULONG Offset;
  ULONG Length;
} RIO_BUF, *PRIO_BUF;

typedef struct RIO_CQ_t* RIO_CQ;
typedef struct RIO_RQ_t* RIO_RQ;
#define RIO_INVALID_CQ ((RIO_CQ)0)
#define RIO_INVALID_RQ ((RIO_RQ)0)
#define RIO_CORRUPT_CQ 0xFFFFFFFF
// Flags of RIOSend / RIOReceive: queue without telling the kernel, and tell it what is queued.
#define RIO_MSG_DEFER 0x00000002
#define RIO_MSG_COMMIT_ONLY 0x00000008

typedef struct _RIORESULT {
  LONG Status;
  ULONG BytesTransferred;
  ULONGLONG SocketContext;
  ULONGLONG RequestContext;
} RIORESULT, *PRIORESULT;

typedef enum _RIO_NOTIFICATION_COMPLETION_TYPE { RIO_EVENT_COMPLETION = 1, RIO_IOCP_COMPLETION = 2 } RIO_NOTIFICATION_COMPLETION_TYPE;

typedef struct _RIO_NOTIFICATION_COMPLETION {
  RIO_NOTIFICATION_COMPLETION_TYPE Type;
  union {
    struct {
      HANDLE EventHandle;
      BOOL NotifyReset;
    } Event;
    struct {
      HANDLE IocpHandle;
      PVOID CompletionKey;
      PVOID Overlapped;
    } Iocp;
  };
} RIO_NOTIFICATION_COMPLETION, *PRIO_NOTIFICATION_COMPLETION;

typedef RIO_BUFFERID(PASCAL* LPFN_RIOREGISTERBUFFER)(PCHAR DataBuffer, DWORD DataLength);
typedef VOID(PASCAL* LPFN_RIODEREGISTERBUFFER)(RIO_BUFFERID BufferId);
typedef BOOL(PASCAL* LPFN_RIORECEIVE)(RIO_RQ SocketQueue, PRIO_BUF pData, ULONG DataBufferCount, DWORD Flags, PVOID RequestContext);
typedef BOOL(PASCAL* LPFN_RIOSEND)(RIO_RQ SocketQueue, PRIO_BUF pData, ULONG DataBufferCount, DWORD Flags, PVOID RequestContext);
typedef VOID(PASCAL* LPFN_RIOCLOSECOMPLETIONQUEUE)(RIO_CQ CQ);
typedef RIO_CQ(PASCAL* LPFN_RIOCREATECOMPLETIONQUEUE)(DWORD QueueSize, PRIO_NOTIFICATION_COMPLETION NotificationCompletion);
typedef RIO_RQ(PASCAL* LPFN_RIOCREATEREQUESTQUEUE)(SOCKET Socket, ULONG MaxOutstandingReceive, ULONG MaxReceiveDataBuffers,
                                                    ULONG MaxOutstandingSend, ULONG MaxSendDataBuffers, RIO_CQ ReceiveCQ, RIO_CQ SendCQ,
                                                    PVOID SocketContext);
typedef ULONG(PASCAL* LPFN_RIODEQUEUECOMPLETION)(RIO_CQ CQ, PRIORESULT Array, ULONG ArraySize);
typedef INT(PASCAL* LPFN_RIONOTIFY)(RIO_CQ CQ);

// The table WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) fills in,
// in its documented order; the entries riopool does not call stay untyped.
typedef struct _RIO_EXTENSION_FUNCTION_TABLE {
  DWORD cbSize;
  LPFN_RIORECEIVE RIOReceive;
  void* RIOReceiveEx;
  LPFN_RIOSEND RIOSend;
  void* RIOSendEx;
  LPFN_RIOCLOSECOMPLETIONQUEUE RIOCloseCompletionQueue;
  LPFN_RIOCREATECOMPLETIONQUEUE RIOCreateCompletionQueue;
  LPFN_RIOCREATEREQUESTQUEUE RIOCreateRequestQueue;
  LPFN_RIODEQUEUECOMPLETION RIODequeueCompletion;
  LPFN_RIODEREGISTERBUFFER RIODeregisterBuffer;
  LPFN_RIONOTIFY RIONotify;
  LPFN_RIOREGISTERBUFFER RIORegisterBuffer;
  void* RIOResizeCompletionQueue;
  void* RIOResizeRequestQueue;
} RIO_EXTENSION_FUNCTION_TABLE, *PRIO_EXTENSION_FUNCTION_TABLE;
#endif  // RIO_INVALID_BUFFERID

#ifndef SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER
#define SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER _WSAIORW(IOC_WS2, 36)
#endif

#ifndef WSAID_MULTIPLE_RIO
// {8509E081-96DD-4005-B165-9E2EE8C79E3F}
#define WSAID_MULTIPLE_RIO \
  {0x8509e081, 0x96dd, 0x4005, {0xb1, 0x65, 0x9e, 0x2e, 0xe8, 0xc7, 0x9e, 0x3f}}
#endif

#endif  // _WIN32
