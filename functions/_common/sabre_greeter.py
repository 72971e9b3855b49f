"""gRPC server runtime shared by every Sabre function image.

Serves fibonacci.Greeter/SayHello (request field 1 `string name`, reply field 1 `string message`) on
port 50051, the interface vHive's function images expose. The message classes are built from a
descriptor at start-up, so no protoc step is needed; each function only supplies say_hello(name).
"""
import sys
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PORT = 50051


def _message_classes():
    proto = descriptor_pb2.FileDescriptorProto(name="fibonacci.proto", package="fibonacci", syntax="proto3")
    for message, field in (("HelloRequest", "name"), ("HelloReply", "message")):
        m = proto.message_type.add(name=message)
        m.field.add(name=field, number=1, json_name=field,
                    type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    classes = []
    for name in ("fibonacci.HelloRequest", "fibonacci.HelloReply"):
        desc = pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):
            classes.append(message_factory.GetMessageClass(desc))
        else:
            classes.append(message_factory.MessageFactory(pool).GetPrototype(desc))
    return classes


HelloRequest, HelloReply = _message_classes()


def serve(say_hello, name):
    """Runs the server forever; say_hello(str) -> str does one request's work."""

    def handle(request, context):
        try:
            return HelloReply(message=say_hello(request.name))
        except Exception as e:  # report, do not kill the server
            context.abort(grpc.StatusCode.INTERNAL, "%s: %s" % (type(e).__name__, e))

    rpc = grpc.unary_unary_rpc_method_handler(
        handle,
        request_deserializer=HelloRequest.FromString,
        response_serializer=HelloReply.SerializeToString)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("fibonacci.Greeter", {"SayHello": rpc}),))
    server.add_insecure_port("0.0.0.0:%d" % PORT)
    server.start()
    print("sabre: function %s ready on port %d" % (name, PORT), flush=True)
    sys.stdout.flush()
    while True:
        time.sleep(3600)


def int_arg(text, default):
    """The request's name as a positive integer parameter, or the default when it is not one."""
    try:
        value = int(text)
        return value if value > 0 else default
    except ValueError:
        return default
