using System;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>The checks every production <see cref="IConnection"/> makes before a send or a receive, in one place.</summary>
internal static class ConnectionRules
{
    /// <summary>Why a frame of <paramref name="length"/> bytes cannot be sent, or null when it can.</summary>
    public static NetStatus? RefuseSend(bool isOpen, int length) =>
        !isOpen ? NetStatus.Closed
        : length > INetwork.FrameBytesMax ? NetStatus.FrameTooLarge
        : null;

    /// <summary>One receive at a time: a second one would interleave the frame state.</summary>
    public static void ThrowIfReceiving(bool receiving, IConnection connection)
    {
        if (receiving)
        {
            throw new InvalidOperationException($"a ReceiveAsync is already pending on {connection}; receive one frame at a time");
        }
    }
}
