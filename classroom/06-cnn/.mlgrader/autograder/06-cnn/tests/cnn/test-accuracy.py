from mlgrader.artifacts import load_state_dict

weights = load_state_dict("fashion_cnn.safetensors")
