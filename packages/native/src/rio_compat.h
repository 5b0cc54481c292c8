// riopool native core: the Winsock registered I/O declarations riopool uses.
//
// The Windows SDK declares these in mswsock.h / mswsockdef.h; mingw-w64's headers do not, so
// the cross-build (pnpm check:windows) needs them here. Written from the public RIO
// documentation (RIO_EXTENSION_FUNCTION_TABLE, RIORegisterBuffer, RIO_BUF). Only the two
// entry points the backend calls are typed; the others keep their place in the table as
// untyped pointers, so the layout matches what WSAIoctl fills in.
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

typedef RIO_BUFFERID(PASCAL* LPFN_RIOREGISTERBUFFER)(PCHAR DataBuffer, DWORD DataLength);
typedef VOID(PASCAL* LPFN_RIODEREGISTERBUFFER)(RIO_BUFFERID BufferId);

typedef struct _RIO_EXTENSION_FUNCTION_TABLE {
  DWORD cbSize;
  void* RIOReceive;
  void* RIOReceiveEx;
  void* RIOSend;
  void* RIOSendEx;
  void* RIOCloseCompletionQueue;
  void* RIOCreateCompletionQueue;
  void* RIOCreateRequestQueue;
  void* RIODequeueCompletion;
  LPFN_RIODEREGISTERBUFFER RIODeregisterBuffer;
  void* RIONotify;
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
