import Decoders
print(Vocabulary.all.count)
