import Decoders
print("bench")
